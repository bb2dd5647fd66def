"""Make the example call recordings in examples/ (espeak-ng voices, sox, ffmpeg): small, deterministic, with a
manifest, trackers and a business UX row. Run: python scripts/make_examples.py [folder]"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

VOICES = {"agent": ("en-us", "150", "50"), "customer": ("en-gb+f3", "140", "70")}
CALLS: dict[str, list[tuple[str, str]]] = {
    "sales-call-stereo": [
        ("agent", "Hi Mike, thanks for joining the call today. How is the new support team doing?"),
        ("customer", "Good, thanks. Honestly we ran out of budget this quarter, so the price is a concern."),
        ("agent", "I understand. I will send you a discounted quote by Friday."),
        ("customer", "Great. We are also comparing alternatives, another vendor offered a trial."),
        ("agent", "Our onboarding takes two weeks. Can I schedule a demo with your manager next Tuesday?"),
        ("customer", "Yes, please send the invite to my manager."),
    ],
    "support-call-mono": [
        ("agent", "Thank you for calling Acme support, this is Sam. How can I help you today?"),
        ("customer", "Hi Sam, my invoice is wrong and I was charged twice this month."),
        ("agent", "I am sorry about that. I will refund the second charge today and email you a receipt."),
        ("customer", "Thank you. If this happens again I will cancel my subscription."),
    ],
    "phone-call-8k": [
        ("agent", "Hello, this is Acme calling about your renewal. Do you have a minute?"),
        ("customer", "Sure, but the renewal is too expensive for us this year."),
        ("agent", "Let me check what discount I can offer and call you back tomorrow morning."),
    ],
}
MANIFEST = """file,business_name,speaker_count,separate_channels,speakers,custom_vocabulary,customer_name,service_type
sales-call-stereo.mp3,Acme,2,true,Natalia <natalia@acme.example>|Mike <mike@globex.example>,Acme|onboarding,Mike,sales
support-call-mono.mp3,Acme,2,false,,Acme|invoice|refund,Dana,support
phone-call-8k.mp3,Acme,2,false,,Acme|renewal,Lee,renewals
"""
TRACKERS = [
    {"name": "Budget", "vocabulary": ["budget", "too expensive", "the price is a concern", "discount", "cost"]},
    {"name": "Competitor", "vocabulary": ["another vendor", "comparing alternatives", "a competitor", "other tools"]},
    {"name": "Churn risk", "vocabulary": ["cancel my subscription", "cancel the contract", "switch provider"]},
    {"name": "Next steps", "vocabulary": ["schedule a demo", "send the invite", "call you back", "follow up"]},
]
BUSINESS_UX = {
    "business_name": "Acme",
    "colors": {"background": "#0f2a44", "topicsFilter": "#1f7a8c", "insightsFilter": "#e07a5f"},
    "font": "Inter",
    "options": {"readOnly": True},
}


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def make_call(name: str, turns: list[tuple[str, str]], out: Path, tmp: Path) -> None:
    pieces: list[tuple[str, Path, float]] = []
    for i, (who, text) in enumerate(turns):
        voice, speed, pitch = VOICES[who]
        wav = tmp / f"{name}-{i}.wav"
        sh("espeak-ng", "-v", voice, "-s", speed, "-p", pitch, "-w", str(wav), text)
        pieces.append((who, wav, float(sh("soxi", "-D", str(wav)))))
    total = sum(d + 0.6 for _, _, d in pieces)
    channels = {}
    for who in VOICES:  # each speaker on a timeline of their own, silent while the other talks
        at, parts = 0.0, []
        for speaker, wav, d in pieces:
            if speaker == who:
                padded = tmp / f"{name}-{who}-{len(parts)}.wav"
                sh("sox", str(wav), "-r", "16000", str(padded), "pad", f"{at:.2f}", f"{total - at - d:.2f}")
                parts.append(padded)
            at += d + 0.6
        track = tmp / f"{name}-{who}.wav"
        sh("sox", "-m", *map(str, parts), str(track)) if len(parts) > 1 else sh("cp", str(parts[0]), str(track))
        channels[who] = track
    mixed = tmp / f"{name}.wav"
    if name.endswith("stereo"):
        sh("sox", "-M", str(channels["agent"]), str(channels["customer"]), str(mixed))
    else:
        sh("sox", "-m", str(channels["agent"]), str(channels["customer"]), str(mixed))
    rate = "8000" if name.endswith("8k") else "16000"
    sh("ffmpeg", "-v", "error", "-y", "-i", str(mixed), "-ar", rate, "-b:a", "32k", str(out / f"{name}.mp3"))


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, turns in CALLS.items():
            make_call(name, turns, folder, Path(tmp))
    (folder / "manifest.csv").write_text(MANIFEST)
    (folder / "trackers.json").write_text(json.dumps(TRACKERS, indent=2) + "\n")
    (folder / "business_ux.json").write_text(json.dumps(BUSINESS_UX, indent=2) + "\n")
    print(f"wrote {len(CALLS)} calls to {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "examples")
