"""Decoding any container PyAV reads (wav, mp3, flac, ogg/opus, m4a/aac, amr, aiff, wma, ac3…) to 16 kHz float32,
one array per channel. Refusals carry a reason for the failed job and never a server-side path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGET_RATE = 16_000
MIN_RATE = 8_000


class Refused(ValueError):
    """Audio the engine will not process."""


@dataclass
class Decoded:
    channels: np.ndarray  # (channels, samples) at 16 kHz
    source_rate: int

    @property
    def duration(self) -> float:
        return self.channels.shape[1] / TARGET_RATE


def decode(path: str, max_seconds: float) -> Decoded:
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
        layout = "mono" if channels == 1 else "stereo" if channels == 2 else None
        resampler = av.AudioResampler(format="fltp", layout=layout or "stereo", rate=TARGET_RATE)
        pieces: list[np.ndarray] = []
        total = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    array = out.to_ndarray()
                    pieces.append(array)
                    total += array.shape[1]
                    if total > (max_seconds + 1) * TARGET_RATE:
                        raise Refused(f"The audio is longer than the limit of {max_seconds / 3600:.0f} h.")
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray())
        except (av.error.InvalidDataError, av.error.FFmpegError):
            if not pieces:
                raise Refused("The file is not a readable audio file (corrupt or truncated).") from None
    if not pieces or sum(p.shape[1] for p in pieces) < TARGET_RATE // 10:
        raise Refused("The file contains no audio (empty or shorter than 0.1 s).")
    if rate == 0:
        rate = TARGET_RATE
    return Decoded(np.concatenate(pieces, axis=1).astype(np.float32), rate)
