"""Synthetic calls made with espeak-ng and sox: deterministic speech with known words and speakers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

AGENT = "Hi Mike, thanks for joining the call today. What is the biggest problem your support team has right now?"
CALLER = "Honestly we ran out of budget this quarter. I will send you the numbers by Friday."


def tools_missing() -> str | None:
    missing = [t for t in ("espeak-ng", "sox", "soxi") if shutil.which(t) is None]
    return f"missing {', '.join(missing)} (make system-deps)" if missing else None


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def make_calls(folder: Path) -> dict[str, Path]:
    """A stereo two-speaker call (one speaker per channel), its mono mix, and bad files."""
    folder.mkdir(parents=True, exist_ok=True)
    a, b = folder / "a.wav", folder / "b.wav"
    _run("espeak-ng", "-v", "en-us", "-s", "150", "-w", str(a), AGENT)
    _run("espeak-ng", "-v", "en-gb+f3", "-p", "70", "-s", "140", "-w", str(b), CALLER)
    a_len = subprocess.run(["soxi", "-D", str(a)], capture_output=True, text=True, check=True).stdout.strip()
    b_len = subprocess.run(["soxi", "-D", str(b)], capture_output=True, text=True, check=True).stdout.strip()
    stereo = folder / "stereo.wav"
    _run("sox", "-M", f"|sox {a} -p pad 0 {float(b_len) + 0.5}", f"|sox {b} -p pad {float(a_len) + 0.5} 0", str(stereo))
    low = folder / "low-rate.wav"
    _run("sox", str(a), "-r", "4000", str(low))
    junk = folder / "not-audio.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEthis is not audio at all" * 10)
    return {"stereo": stereo, "low-rate": low, "not-audio": junk}
