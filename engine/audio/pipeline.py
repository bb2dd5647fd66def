"""One audio job: decode, recognise per channel or for the mix, attribute speakers, build messages."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.audio import asr, diarize
from engine.audio.decode import Refused, decode
from engine.ids import member_id
from engine.settings import EngineSettings

AudioRefused = Refused
PAUSE = 1.0  # seconds of silence that end a message
MAX_MESSAGE_WORDS = 60


@dataclass
class Said:
    word: asr.Word
    speaker: str


def messages_from(words: list[Said]) -> list[dict[str, Any]]:
    """Messages built on speaker change, a pause, or the end of a sentence."""
    out: list[dict[str, Any]] = []
    current: list[Said] = []

    def flush() -> None:
        if current:
            out.append(
                {
                    "text": " ".join(s.word.word for s in current),
                    "speaker": current[0].speaker,
                    "start": round(current[0].word.start, 3),
                    "end": round(current[-1].word.end, 3),
                    "words": [
                        {"word": s.word.word, "start": s.word.start, "end": s.word.end, "score": s.word.score}
                        for s in current
                    ],
                }
            )
            current.clear()

    for said in sorted(words, key=lambda s: s.word.start):
        if current and (
            said.speaker != current[-1].speaker
            or said.word.start - current[-1].word.end > PAUSE
            or (current[-1].word.word.endswith((".", "?", "!")) and len(current) >= 3)
            or len(current) >= MAX_MESSAGE_WORDS
        ):
            flush()
        current.append(said)
    flush()
    return out


def _chunks(words: list[asr.Word]) -> list[list[asr.Word]]:
    """Words grouped at sentence ends and pauses."""
    chunks: list[list[asr.Word]] = []
    for word in words:
        if not chunks or chunks[-1][-1].word.endswith((".", "?", "!")) or word.start - chunks[-1][-1].end > PAUSE / 2:
            chunks.append([])
        chunks[-1].append(word)
    return chunks


def transcribe(path: str, params: dict[str, Any], conversation_id: str, settings: EngineSettings) -> dict[str, Any]:
    """The transcript of one audio file (see :mod:`engine.language.analyse` for its shape)."""
    decoded = decode(path, settings.max_media_seconds)
    model, english_only = asr.load(settings.asr_model, str(settings.data_dir / "models"), os.cpu_count() or 2)
    language_code = params.get("languageCode") or "en-US"
    language = language_code.split("-")[0]
    if english_only and language != "en":
        raise Refused(
            f"languageCode {language_code} needs a multilingual model; the engine runs {settings.asr_model}, which "
            "is English-only (set CALLSCOPE_ENGINE_ASR_MODEL=base)."
        )
    vocabulary = list(params.get("customVocabulary") or [])
    phone = params.get("mode") == "phone"
    members: list[dict[str, Any]] = []
    said: list[Said] = []
    channels = decoded.channels
    if (
        params.get("enableSeparateRecognitionPerChannel")
        and channels.shape[0] > 1
        and not params.get("enableSpeakerDiarization")
    ):
        names = {c["channel"]: c["speaker"] for c in params.get("channelMetadata") or []}
        for index, channel in enumerate(channels, 1):
            speaker = names.get(index, {})
            mid = member_id(conversation_id, "channel", index)
            members.append(
                {"id": mid, "name": speaker.get("name") or f"Speaker {index}", "email": speaker.get("email")}
            )
            said += [
                Said(w, mid)
                for w in asr.recognise(model, channel, language=language, vocabulary=vocabulary, phone=phone)
            ]
    else:
        mono = channels.mean(axis=0) if channels.shape[0] > 1 else channels[0]
        words = asr.recognise(model, mono, language=language, vocabulary=vocabulary, phone=phone)
        count = int(params.get("diarizationSpeakerCount") or 1) if params.get("enableSpeakerDiarization") else 1
        ids = [member_id(conversation_id, "speaker", n) for n in range(1, count + 1)]
        if count > 1 and words:
            centres, labels = diarize.speaker_frames(mono, count, [(w.start, w.end) for w in words])
            order = list(dict.fromkeys(int(x) for x in labels))  # Speaker 1 is the first to speak
            rank = {label: order.index(label) if label in order else 0 for label in range(count)}
            # Vote per sentence-sized chunk, not per word: a 1.6 s window blurs word boundaries.
            for chunk in _chunks(words):
                label = diarize.label_at(centres, labels, chunk[0].start, chunk[-1].end)
                said += [Said(w, ids[rank[label]]) for w in chunk]
        else:
            said = [Said(w, ids[0]) for w in words]
        used = {s.speaker for s in said} or {ids[0]}
        members = [{"id": i, "name": f"Speaker {n}", "email": None} for n, i in enumerate(ids, 1) if i in used]
    return {"duration": round(decoded.duration, 3), "members": members, "messages": messages_from(said)}


def warm_up(settings: EngineSettings) -> None:
    """Load the speech model and compile resemblyzer's kernels before the first job."""
    model, _ = asr.load(settings.asr_model, str(settings.data_dir / "models"), os.cpu_count() or 2)
    silence = np.zeros(16_000, dtype=np.float32)
    asr.recognise(model, silence, language="en", vocabulary=[], phone=False)
    diarize.speaker_frames(np.random.default_rng(0).normal(0, 0.01, 32_000).astype(np.float32), 2)
