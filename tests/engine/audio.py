"""Synthetic calls made with espeak-ng and sox: deterministic speech with known words and speakers."""

from __future__ import annotations

import random
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


# ---- Conversations with known truth (the engine's accuracy tests and benchmarks/engine/audio.py) ----------------

VOICES = [  # (espeak-ng voice, pitch, words per minute): distinct speakers
    ("en-us", 45, 160),
    ("en-gb+f3", 70, 145),
    ("en-us+m3", 30, 175),
    ("en-gb-x-rp+f2", 60, 150),
]

LINES = [
    "Thanks for calling, this is the billing team. How can I help you today?",
    "Hi, I was charged twice for my subscription this month and I would like a refund.",
    "I am sorry to hear that. Can you give me the email address on the account?",
    "Sure, it is the one I use for work. The second charge appeared on Tuesday.",
    "I can see both payments. The duplicate will be refunded within five business days.",
    "That is good news. Will I get a confirmation by email?",
    "Yes, you will receive a receipt as soon as the refund is processed.",
    "While I have you, can you tell me about the annual plan?",
    "The annual plan costs less per month and includes priority support.",
    "We have about forty agents in two offices, so the price matters a lot.",
    "I understand. I can send you a quote with a volume discount by Friday.",
    "Please also include the security documents for our legal team.",
    "Of course. Is there anything else I can help you with today?",
    "No, that covers everything. Thank you very much for your help.",
    "You are welcome. Have a great afternoon and goodbye.",
    "Our contract renews next quarter and the budget is tight this year.",
    "Let me check with my manager and get back to you tomorrow morning.",
    "The onboarding usually takes two weeks and the training is free.",
    "Can we schedule a demo for the support managers next Wednesday?",
    "I will put a meeting on the calendar and send the invitation today.",
]


@dataclass
class Turn:
    speaker: int  # index into VOICES; also the channel in stereo files
    text: str
    start: float = 0.0  # seconds, speech only (leading and trailing silence trimmed)
    end: float = 0.0


@dataclass
class Conversation:
    turns: list[Turn]
    files: dict[str, Path]  # stereo, mono, stereo-8k, mono-8k
    duration: float

    @property
    def speakers(self) -> list[int]:
        return sorted({t.speaker for t in self.turns})

    def talk_time(self, speaker: int) -> float:
        return sum(t.end - t.start for t in self.turns if t.speaker == speaker)

    def overlap(self) -> float:
        """Seconds where two speakers talk at once."""
        total = 0.0
        for i, a in enumerate(self.turns):
            for b in self.turns[i + 1 :]:
                if a.speaker != b.speaker:
                    total += max(0.0, min(a.end, b.end) - max(a.start, b.start))
        return total


def _speech(path: Path, voice: tuple[str, int, int], text: str) -> np.ndarray:
    name, pitch, speed = voice
    raw = path.with_suffix(".raw.wav")
    _run("espeak-ng", "-v", name, "-p", str(pitch), "-s", str(speed), "-w", str(raw), text)
    _run("sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path))
    raw.unlink()
    with wave.open(str(path)) as f:
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def _write(path: Path, channels: np.ndarray) -> None:
    pcm = (np.clip(channels.T, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels.shape[0])
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(pcm.tobytes())


def make_conversation(
    folder: Path,
    script: list[tuple[int, str]],
    *,
    gap: float = 0.6,
    overlap_every: int = 0,
    overlap: float = 0.8,
) -> Conversation:
    """A call from ``(speaker, text)`` turns: a stereo file (one speaker per channel), its mono mix and the 8 kHz
    telephone copies (300–3400 Hz, μ-law). Every ``overlap_every``-th turn starts ``overlap`` s before the previous
    one ends (a brief interruption); the others follow after ``gap`` s."""
    folder.mkdir(parents=True, exist_ok=True)
    cache: dict[tuple[int, str], np.ndarray] = {}
    turns: list[Turn] = []
    clips: list[np.ndarray] = []
    at = 0.5
    for n, (speaker, text) in enumerate(script):
        key = (speaker, text)
        if key not in cache:
            cache[key] = _speech(folder / f"clip-{len(cache)}.wav", VOICES[speaker], text)
        clip = cache[key]
        if n and overlap_every and n % overlap_every == 0 and turns[-1].speaker != speaker:
            at = max(turns[-1].start + 0.5, turns[-1].end - overlap)
        turns.append(Turn(speaker, text, round(at, 4), round(at + len(clip) / 16000, 4)))
        clips.append(clip)
        at = turns[-1].end + gap
    for f in folder.glob("clip-*.wav"):
        f.unlink()
    length = int((at + 0.5) * 16000)
    speakers = sorted({t.speaker for t in turns})
    tracks = np.zeros((len(speakers), length), dtype=np.float32)
    for turn, clip in zip(turns, clips, strict=True):
        begin = int(turn.start * 16000)
        tracks[speakers.index(turn.speaker), begin : begin + len(clip)] += clip
    files = {"stereo": folder / "stereo.wav", "mono": folder / "mono.wav"}
    _write(files["stereo"], tracks)
    _write(files["mono"], tracks.sum(axis=0, keepdims=True) * 0.7)
    for kind in ("stereo", "mono"):
        files[f"{kind}-8k"] = folder / f"{kind}-8k.wav"
        _run("sox", str(files[kind]), "-r", "8000", "-e", "u-law", str(files[f"{kind}-8k"]), "sinc", "300-3400")
    return Conversation(turns, files, length / 16000)


def dialogue(minutes: float, speakers: tuple[int, int] = (0, 1), seed: int = 0) -> list[tuple[int, str]]:
    """About ``minutes`` of alternating turns from :data:`LINES` (≈ 4.5 s per turn with its gap)."""
    rng = random.Random(seed)
    count = max(2, round(minutes * 60 / 4.6))
    return [(speakers[n % 2], rng.choice(LINES)) for n in range(count)]
