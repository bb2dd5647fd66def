"""Decoding any container PyAV reads (wav, mp3, flac, ogg/opus, m4a/aac, amr, aiff, wma, ac3…) to 16 kHz float32,
one row per channel, as a stream of blocks so that a four-hour file never sits in memory whole. Refusals carry a
reason for the failed job and never a server-side path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

TARGET_RATE = 16_000
MIN_RATE = 8_000


class Refused(ValueError):
    """Audio the engine will not process."""


@dataclass
class Source:
    """An opened audio stream: its properties, and :meth:`blocks` to read it."""

    container: Any
    stream: Any
    source_rate: int
    channels: int
    max_seconds: float

    def blocks(self, seconds: float) -> Iterator[np.ndarray]:
        """(channels, samples) float32 blocks at 16 kHz of about ``seconds`` each (the last may be shorter).
        Raises :class:`Refused` for a file with no audio or longer than the limit."""
        import av

        layout = self.stream.layout.name if self.channels > 2 else ("mono" if self.channels == 1 else "stereo")
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=TARGET_RATE)
        size = int(seconds * TARGET_RATE)
        pending: list[np.ndarray] = []
        held = total = 0

        def frames() -> Iterator[Any]:
            try:
                yield from self.container.decode(self.stream)
            except (av.error.InvalidDataError, av.error.FFmpegError):
                if total == 0:  # a damaged tail after real audio is decoded as far as it goes
                    raise Refused("The file is not a readable audio file (corrupt or truncated).") from None
            yield None  # flush the resampler

        for frame in frames():
            for out in resampler.resample(frame):
                array = out.to_ndarray()[: self.channels]
                pending.append(array)
                held += array.shape[1]
                total += array.shape[1]
                if total > (self.max_seconds + 1) * TARGET_RATE:
                    raise Refused(f"The audio is longer than the limit of {self.max_seconds / 3600:.0f} h.")
            while held >= size:
                block = np.concatenate(pending, axis=1)
                yield block[:, :size].astype(np.float32, copy=False)
                pending, held = [block[:, size:]], block.shape[1] - size
        if total < TARGET_RATE // 10:
            raise Refused("The file contains no audio (empty or shorter than 0.1 s).")
        if held:
            yield np.concatenate(pending, axis=1).astype(np.float32, copy=False)


@contextmanager
def open_audio(path: str, max_seconds: float) -> Iterator[Source]:
    """Open ``path`` and check what can be told before decoding: an audio stream, its rate, its declared length."""
    import av

    try:
        container = av.open(path)
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError):
        raise Refused("The file is not a readable audio file (unknown, corrupt or truncated format).") from None
    with container:
        streams = container.streams.audio
        if not streams:
            raise Refused("The file has no audio stream.")
        stream = streams[0]
        rate = stream.codec_context.sample_rate or stream.rate or 0
        if rate and rate < MIN_RATE:
            raise Refused(f"The audio's sample rate is {rate} Hz; at least {MIN_RATE} Hz is needed.")
        declared = float(container.duration / 1_000_000) if container.duration else None
        if declared and declared > max_seconds + 1:
            raise Refused(f"The audio is {declared / 3600:.2f} h long; the limit is {max_seconds / 3600:.0f} h.")
        channels = stream.codec_context.channels or 1
        yield Source(container, stream, rate or TARGET_RATE, channels, max_seconds)
