"""The end-to-end corpus: ten short calls made with espeak-ng (stereo with one speaker per channel, mono, 8 kHz
telephone band, and one below 8 kHz that the engine must refuse), a manifest, trackers, and a file that is not audio."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]

TURNS = [
    [("agent", "Thanks for joining. What is your budget this year?"), ("customer", "Honestly it is too expensive.")],
    [("agent", "Are you comparing alternatives?"), ("customer", "Yes, another vendor offered a trial.")],
    [("agent", "Shall I schedule a demo next week?"), ("customer", "Yes, please send the invite.")],
]
TRACKERS = [
    {"name": "Budget", "vocabulary": ["budget", "too expensive", "the price", "discount"]},
    {"name": "Competitor", "vocabulary": ["another vendor", "comparing alternatives", "a competitor"]},
    {"name": "Next steps", "vocabulary": ["schedule a demo", "send the invite", "call you back"]},
]
GOOD = 9


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "scripts" / "make_examples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_corpus(folder: Path) -> dict[str, str]:
    """Write the corpus; returns file name → kind (stereo, mono, phone, low-rate, junk)."""
    gen = _generator()
    folder.mkdir(parents=True, exist_ok=True)
    kinds: dict[str, str] = {}
    rows = ["file,speaker_count,separate_channels,speakers,customer_name"]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(GOOD):
            kind = ("stereo", "mono", "8k")[i % 3]
            name = f"call-{i}-{kind}"
            gen.make_call(name, TURNS[i // 3], folder, Path(tmp))
            kinds[f"{name}.mp3"] = {"8k": "phone"}.get(kind, kind)
            if kind == "stereo":
                rows.append(f"{name}.mp3,2,true,Ana <ana@example.com>|Ben <ben@example.com>,Ben")
            else:
                rows.append(f"{name}.mp3,2,false,,Customer {i}")
        low = folder / "low-rate.wav"  # valid audio, but below the 8 kHz the engine accepts
        gen.sh("sox", "-n", "-r", "4000", "-c", "1", str(low), "synth", "2", "sine", "440")
        kinds[low.name] = "low-rate"
    (folder / "notes.wav").write_bytes(b"these are meeting notes, not a recording\n" * 20)
    kinds["notes.wav"] = "junk"
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    import json

    (folder / "trackers.json").write_text(json.dumps(TRACKERS))
    return kinds
