"""Speaker diarization with a known speaker count: resemblyzer embeddings of 1.6 s windows every 0.25 s, computed in
one batch, L2-normalised, then spectral clustering on their clipped cosine similarity."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

WINDOWS_PER_SECOND = 4


@cache
def encoder() -> Any:
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


def speaker_frames(
    audio: np.ndarray, speakers: int, speech: list[tuple[float, float]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(window centre times in s, cluster label per window), clustering only windows centred on speech (word
    spans), so silence does not form a "speaker" of its own."""
    from resemblyzer.audio import normalize_volume
    from sklearn.cluster import SpectralClustering

    wav = normalize_volume(audio.astype(np.float32), -30, increase_only=True)
    _, partials, slices = encoder().embed_utterance(wav, return_partials=True, rate=WINDOWS_PER_SECOND)
    centres = np.array([(s.start + s.stop) / 2 / 16_000 for s in slices])
    if speech:
        keep = np.array([any(a - 0.2 <= c <= b + 0.2 for a, b in speech) for c in centres])
        if keep.sum() > speakers:
            centres, partials = centres[keep], partials[keep]
    if speakers <= 1 or len(partials) <= speakers:
        return centres, np.zeros(len(centres), dtype=int)
    vectors = partials / np.linalg.norm(partials, axis=1, keepdims=True)
    affinity = np.clip(vectors @ vectors.T, 0.0, 1.0)
    labels = SpectralClustering(speakers, affinity="precomputed", random_state=0).fit_predict(affinity)
    return centres, labels


def label_at(centres: np.ndarray, labels: np.ndarray, start: float, end: float) -> int:
    """The most common label among windows centred inside [start, end], else the nearest window's."""
    inside = labels[(centres >= start) & (centres <= end)]
    if len(inside):
        return int(np.bincount(inside).argmax())
    return int(labels[int(np.abs(centres - (start + end) / 2).argmin())])
