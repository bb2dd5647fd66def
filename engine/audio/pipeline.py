"""One audio job: decode, recognise per channel or for the mix, attribute speakers, build messages."""

from __future__ import annotations

import bisect
import itertools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.audio import asr, diarize
from engine.audio.decode import TARGET_RATE as RATE
from engine.audio.decode import Refused, open_audio
from engine.ids import member_id
from engine.language.analytics import union
from engine.settings import EngineSettings

AudioRefused = Refused
PAUSE = 1.0  # seconds of silence that end a message
TURN_GAP = 0.35  # per channel: a shorter pause filled by another speaker is an interruption, not a turn
MAX_MESSAGE_WORDS = 60
BLOCK_SECONDS = 30.0  # decoded at a time
MARGIN_SECONDS = 20.0  # recognised past a window's end, so words at the cut have context; redone next window
PEAKS_PER_SECOND = 10
VOICE_FRAME = RATE // 50  # 20 ms
VOICE_RANGE_DB = 35.0  # per channel: frames this far below its loud frames are not speech
LOOKBACK = 10.0  # how far before a window's end a pause may be chosen as its cut


@dataclass
class Said:
    word: asr.Word
    speaker: str


def messages_from(words: list[Said], *, per_channel: bool = False) -> list[dict[str, Any]]:
    """Messages built on a pause, the end of a sentence, or a change of speaker. With ``per_channel`` the speakers
    were recognised apart and may talk over each other: each speaker's words are grouped on their own, and a
    message ends for another speaker only when that speaker's words fill a real pause (``TURN_GAP``) between two of
    its words — an interruption does not chop the sentence it interrupts."""
    ordered = sorted(words, key=lambda s: s.word.start)
    starts = [s.word.start for s in ordered]
    groups: list[list[Said]] = []
    open_: dict[str, list[Said]] = {}  # per_channel: each speaker's current message
    last: list[Said] | None = None
    for said in ordered:
        current = open_.get(said.speaker) if per_channel else last
        if current is not None and (
            said.speaker != current[-1].speaker
            or said.word.start - current[-1].word.end > PAUSE
            or (current[-1].word.word.endswith((".", "?", "!")) and len(current) >= 3)
            or len(current) >= MAX_MESSAGE_WORDS
            or (per_channel and _answered(ordered, starts, current[-1], said))
        ):
            current = None
        if current is None:
            current = []
            groups.append(current)
        current.append(said)
        open_[said.speaker] = last = current
    groups.sort(key=lambda g: g[0].word.start)
    return [
        {
            "text": " ".join(s.word.word for s in group),
            "speaker": group[0].speaker,
            "start": round(group[0].word.start, 3),
            "end": round(group[-1].word.end, 3),
            "words": [
                {"word": s.word.word, "start": s.word.start, "end": s.word.end, "score": s.word.score} for s in group
            ],
        }
        for group in groups
    ]


def _answered(ordered: list[Said], starts: list[float], before: Said, after: Said) -> bool:
    """Whether another speaker said a whole word inside the pause between two of one speaker's words."""
    if after.word.start - before.word.end < TURN_GAP:
        return False
    inside = ordered[bisect.bisect_left(starts, before.word.end) : bisect.bisect_right(starts, after.word.start)]
    return any(s.speaker != before.speaker and s.word.end <= after.word.start for s in inside)


def _chunks(words: list[asr.Word]) -> list[list[asr.Word]]:
    """Words grouped at sentence ends and pauses."""
    chunks: list[list[asr.Word]] = []
    for word in words:
        if not chunks or chunks[-1][-1].word.endswith((".", "?", "!")) or word.start - chunks[-1][-1].end > PAUSE / 2:
            chunks.append([])
        chunks[-1].append(word)
    return chunks


def _end_on_voice(words: list[asr.Word], track: np.ndarray, offset: float, others: list[asr.Word]) -> list[asr.Word]:
    """Words before a pause that run into another channel's speech, ended at their own channel's last voiced 20-ms
    frame. Whisper stretches the last word before a pause into the silence after it; across channels that silence
    would count as overlap at every turn (measured: +7.7 s of false overlap in a 15-minute call, 28 turn changes)."""
    frames = len(track) // VOICE_FRAME
    if frames == 0 or not words or not others:
        return words
    starts = sorted(o.start for o in others)
    power = (track[: frames * VOICE_FRAME].reshape(frames, VOICE_FRAME).astype(np.float64) ** 2).mean(axis=1)
    level = 10 * np.log10(power + 1e-12)
    voiced = level > np.percentile(level, 95) - VOICE_RANGE_DB
    per_second = RATE / VOICE_FRAME
    out = []
    for w, after in zip(words, [*words[1:], None], strict=True):
        talked_over = bisect.bisect_left(starts, w.end) > bisect.bisect_right(starts, w.start)
        if (after is None or after.start - w.end >= TURN_GAP) and talked_over:
            first, last = int((w.start - offset) * per_second), int(np.ceil((w.end - offset) * per_second))
            inside = np.flatnonzero(voiced[first:last])
            if len(inside):
                voice_end = round(offset + (first + int(inside[-1]) + 1) / per_second, 3)
                w = asr.Word(w.word, w.start, min(w.end, voice_end), w.score)
        out.append(w)
    return out


def _peaks(block: np.ndarray) -> list[float]:
    """The waveform the report page draws: the loudest sample of every ``1 / PEAKS_PER_SECOND`` s, all channels.
    Blocks are whole multiples of that bin except the last."""
    bin_ = RATE // PEAKS_PER_SECOND
    loudest = np.abs(block).max(axis=0)
    whole = len(loudest) // bin_ * bin_
    out = loudest[:whole].reshape(-1, bin_).max(axis=1).tolist()
    if whole < len(loudest):
        out.append(float(loudest[whole:].max()))
    return [round(min(1.0, p), 3) for p in out]


def _cut(found: list[list[asr.Word]], limit: float) -> float:
    """Where a window's work ends: the middle of the longest pause in the last ``LOOKBACK`` s before ``limit``
    (across all channels), else the start of the word that straddles ``limit``."""
    spans = union([(w.start, w.end) for words in found for w in words if w.start < limit])
    gaps = [(b[0] - a[1], (a[1] + b[0]) / 2) for a, b in itertools.pairwise(spans)]
    gaps += [(limit - spans[-1][1], limit)] if spans and spans[-1][1] < limit else []
    near = [g for g in gaps if g[1] >= limit - LOOKBACK and g[0] > 0.05]
    if near:
        return max(near)[1]
    straddling = [s for s, e in spans if s < limit < e]
    return min(straddling) if straddling and min(straddling) > limit - LOOKBACK else limit


def transcribe(path: str, params: dict[str, Any], conversation_id: str, settings: EngineSettings) -> dict[str, Any]:
    """The transcript of one audio file (see :mod:`engine.language.analyse` for its shape), recognised window by
    window (``settings.audio_window_seconds``, each cut in a pause) so memory does not grow with the file."""
    language_code = params.get("languageCode") or "en-US"
    if problem := settings.language_refusal(language_code):  # checked at submission too; the setting may change
        raise Refused(problem)
    model = asr.load(settings.asr_model, str(settings.data_dir / "models"), os.cpu_count() or 2)
    language = language_code.split("-")[0]
    vocabulary = list(params.get("customVocabulary") or [])
    phone = params.get("mode") == "phone"
    diarized = bool(params.get("enableSpeakerDiarization"))
    count = int(params.get("diarizationSpeakerCount") or 1) if diarized else 1
    window = settings.audio_window_seconds
    with open_audio(path, settings.max_media_seconds) as source:
        separate = bool(params.get("enableSeparateRecognitionPerChannel")) and source.channels > 1 and not diarized
        words: list[list[asr.Word]] = [[] for _ in range(source.channels if separate else 1)]
        voices = diarize.Embeddings()

        def work(audio: np.ndarray, offset: float, final: bool) -> float:
            tracks = audio if separate else audio.mean(axis=0, keepdims=True)
            found = [
                [
                    asr.Word(w.word, w.start + offset, w.end + offset, w.score)
                    for w in asr.recognise(
                        model,
                        track,
                        language=language,
                        vocabulary=vocabulary,
                        phone=phone,
                        enhance_phone=settings.enhance_phone_audio,
                    )
                ]
                for track in tracks
            ]
            if separate:  # each channel is one speaker: its own silence tells where its words really end
                found = [
                    _end_on_voice(words, track, offset, [w for other in found if other is not words for w in other])
                    for words, track in zip(found, tracks, strict=True)
                ]
            end = offset + audio.shape[1] / RATE
            cut = end if final else _cut(found, offset + window)
            for mine, new in zip(words, found, strict=True):
                mine += [w for w in new if w.end <= cut or final]
            if count > 1:
                kept = [(w.start, w.end) for w in found[0] if w.end <= cut or final]
                voices.add(tracks[0][: int((cut - offset) * RATE)], offset, kept)
            return cut

        buffer, offset = np.zeros((source.channels, 0), dtype=np.float32), 0.0
        peaks: list[float] = []
        for block in source.blocks(BLOCK_SECONDS):
            peaks += _peaks(block)
            buffer = np.concatenate([buffer, block], axis=1)
            if buffer.shape[1] >= (window + MARGIN_SECONDS) * RATE:
                drop = round((work(buffer, offset, final=False) - offset) * RATE)
                buffer, offset = buffer[:, drop:], offset + drop / RATE
        work(buffer, offset, final=True)
        duration = offset + buffer.shape[1] / RATE

    said: list[Said] = []
    if separate:
        names = {c["channel"]: c["speaker"] for c in params.get("channelMetadata") or []}
        members = []
        for index, channel_words in enumerate(words, 1):
            speaker = names.get(index, {})
            mid = member_id(conversation_id, "channel", index)
            members.append(
                {"id": mid, "name": speaker.get("name") or f"Speaker {index}", "email": speaker.get("email")}
            )
            said += [Said(w, mid) for w in channel_words]
    else:
        ids = [member_id(conversation_id, "speaker", n) for n in range(1, count + 1)]
        centres, labels = voices.cluster(count) if count > 1 else (np.zeros(0), np.zeros(0, dtype=int))
        if len(labels):
            order = list(dict.fromkeys(int(x) for x in labels))  # Speaker 1 is the first to speak
            rank = {label: order.index(label) if label in order else 0 for label in range(count)}
            # Vote per sentence-sized chunk, not per word: a 1.6 s window blurs word boundaries.
            for chunk in _chunks(words[0]):
                label = diarize.label_at(centres, labels, chunk[0].start, chunk[-1].end)
                said += [Said(w, ids[rank[label]]) for w in chunk]
        else:
            said = [Said(w, ids[0]) for w in words[0]]
        used = {s.speaker for s in said} or {ids[0]}
        members = [{"id": i, "name": f"Speaker {n}", "email": None} for n, i in enumerate(ids, 1) if i in used]
    messages = messages_from(said, per_channel=separate)
    return {"duration": round(duration, 3), "members": members, "messages": messages, "peaks": peaks}


def warm_up(settings: EngineSettings) -> None:
    """Load the speech model and compile resemblyzer's kernels before the first job."""
    model = asr.load(settings.asr_model, str(settings.data_dir / "models"), os.cpu_count() or 2)
    silence = np.zeros(16_000, dtype=np.float32)
    asr.recognise(model, silence, language="en", vocabulary=[], phone=True, enhance_phone=True)
    voices = diarize.Embeddings()
    voices.add(np.random.default_rng(0).normal(0, 0.01, 48_000).astype(np.float32), 0.0, [(0.0, 3.0)])
    voices.cluster(2)
