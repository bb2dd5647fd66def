"""Speaker diarization with a known speaker count: resemblyzer embeddings of 1.6 s windows every 0.25 s, computed in
batches window by window of audio (memory stays flat on long calls), L2-normalised, then spectral clustering on
their clipped cosine similarity, pruned to each window's nearest neighbours. Long calls cluster an even sample of
the windows and give every other window the label of the nearest cluster centre."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

WINDOWS_PER_SECOND = 4
BATCH = 128  # partial windows per LSTM forward: bounds activation memory
KEEP_NEAREST = 0.12  # share of each window's neighbours kept in the affinity (see _pruned)
MAX_CLUSTERED = 1600  # windows in the affinity matrix (under 7 min of speech); the rest go to the nearest centre


@cache
def encoder() -> Any:
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


@dataclass
class Embeddings:
    """Window centre times (s, from the start of the recording) and their unit-length speaker embeddings."""

    centres: list[np.ndarray] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)

    def add(self, audio: np.ndarray, offset: float, speech: list[tuple[float, float]]) -> None:
        """Embed the windows of ``audio`` (16 kHz, starting at ``offset`` s) centred on ``speech`` spans (absolute
        times), so that silence does not form a "speaker" of its own."""
        import torch
        from resemblyzer import audio as rz_audio
        from resemblyzer.audio import normalize_volume

        if len(audio) < 16_000 // 2 or not speech:
            return
        model = encoder()
        wav = normalize_volume(audio.astype(np.float32), -30, increase_only=True)
        wav_slices, mel_slices = model.compute_partial_slices(len(wav), WINDOWS_PER_SECOND, 0.75)
        if wav_slices[-1].stop >= len(wav):
            wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
        centres = np.array([offset + (s.start + s.stop) / 2 / 16_000 for s in wav_slices])
        keep = np.flatnonzero([any(a - 0.2 <= c <= b + 0.2 for a, b in speech) for c in centres])
        if not len(keep):
            return
        mel = rz_audio.wav_to_mel_spectrogram(wav)
        out = []
        with torch.no_grad():
            for first in range(0, len(keep), BATCH):
                mels = np.array([mel[mel_slices[i]] for i in keep[first : first + BATCH]])
                out.append(model(torch.from_numpy(mels)).numpy())
        vectors = np.concatenate(out)
        self.centres.append(centres[keep])
        self.vectors.append(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))

    def cluster(self, speakers: int) -> tuple[np.ndarray, np.ndarray]:
        """(window centre times, cluster label per window)."""
        from sklearn.cluster import SpectralClustering

        if not self.centres:
            return np.zeros(0), np.zeros(0, dtype=int)
        centres, vectors = np.concatenate(self.centres), np.concatenate(self.vectors)
        if speakers <= 1 or len(vectors) <= speakers:
            return centres, np.zeros(len(centres), dtype=int)
        sample = np.linspace(0, len(vectors) - 1, min(len(vectors), MAX_CLUSTERED)).astype(int)
        affinity = _pruned(np.clip(vectors[sample] @ vectors[sample].T, 0.0, 1.0))
        labels = SpectralClustering(speakers, affinity="precomputed", random_state=0).fit_predict(affinity)
        if len(sample) == len(vectors):
            return centres, labels
        present = np.unique(labels)
        means = np.stack([vectors[sample][labels == k].mean(axis=0) for k in present])
        return centres, present[(vectors @ means.T).argmax(axis=1)]


def _pruned(affinity: np.ndarray) -> np.ndarray:
    """Keep each window's ``KEEP_NEAREST`` most similar windows, then symmetrise. Without it, windows that straddle
    a turn change link the two voices and spectral clustering split some calls by time, not voice (frame accuracy
    0.73–0.93 → 0.94–1.00 on the espeak-ng corpus)."""
    keep = max(1, int(len(affinity) * KEEP_NEAREST))
    threshold = -np.partition(-affinity, keep - 1, axis=1)[:, keep - 1 : keep]
    pruned = np.where(affinity >= threshold, affinity, 0.0)
    return (pruned + pruned.T) / 2


def label_at(centres: np.ndarray, labels: np.ndarray, start: float, end: float) -> int:
    """The most common label among windows centred inside [start, end], else the nearest window's."""
    inside = labels[(centres >= start) & (centres <= end)]
    if len(inside):
        return int(np.bincount(inside).argmax())
    return int(labels[int(np.abs(centres - (start + end) / 2).argmin())])
