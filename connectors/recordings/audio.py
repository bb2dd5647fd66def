"""Audio helpers for sources: a streamed SHA-256, the duration from the container's header, and splitting a long
recording into parts with ffmpeg."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

AUDIO_SUFFIXES = frozenset(
    {
        ".wav",
        ".wave",
        ".mp3",
        ".m4a",
        ".mp4a",
        ".aac",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".webm",
        ".amr",
        ".aiff",
        ".wma",
    }
)
CHUNK = 1 << 20


class AudioProbeError(ValueError):
    """The file is not audio callscope can read (the message says why)."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (flat memory for any size)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Probe:
    duration_s: float
    sample_rate: int | None
    """From the header when mutagen reads it; None when only ffprobe could."""


def probe_duration(path: Path) -> float:
    """Length in seconds (see :func:`probe`)."""
    return probe(path).duration_s


def probe(path: Path) -> Probe:
    """Length in seconds and sample rate from the container's header (mutagen); ffprobe for what mutagen cannot
    read. One parse of the header.

    Raises :class:`AudioProbeError` for an empty, unreadable or non-audio file.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioProbeError(f"cannot read {path.name}: {exc.strerror}") from exc
    if size == 0:
        raise AudioProbeError("empty file")
    import mutagen  # a light, pure-Python reader of audio headers

    try:
        info = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types for damaged headers
        info, why = None, f"{type(exc).__name__}: {exc}"
    else:
        why = "not a recognised audio container"
    length = getattr(getattr(info, "info", None), "length", None)
    if length and length > 0:
        rate = getattr(info.info, "sample_rate", None)
        return Probe(float(length), int(rate) if rate else None)
    ffprobe = shutil.which("ffprobe")
    if ffprobe:
        out = subprocess.run(
            [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        try:
            seconds = float(out.stdout.strip())
        except ValueError:
            why = (out.stderr.strip().splitlines() or [why])[-1]
        else:
            if seconds > 0:
                return Probe(seconds, None)
            why = "no audio samples"
    raise AudioProbeError(f"not readable audio ({why})")


def split_into_parts(path: Path, parts: int, out_dir: Path) -> list[Path]:
    """Cut ``path`` into ``parts`` consecutive pieces of equal length (stream copy, no re-encoding); each piece is
    written once and reused by later calls. Needs ffmpeg on PATH."""
    if parts < 1:
        raise ValueError(f"parts must be ≥ 1, got {parts}")
    if parts == 1:
        return [path]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioProbeError("recordings over 4 hours are split into parts with ffmpeg, which is not installed")
    length = probe_duration(path) / parts
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces = []
    for i in range(parts):
        piece = out_dir / f"{path.stem}.part{i}{path.suffix}"
        if not piece.exists():
            partial = piece.with_name(piece.name + ".partial" + path.suffix)
            subprocess.run(
                [
                    ffmpeg,
                    "-v",
                    "error",
                    "-y",
                    "-ss",
                    f"{i * length:.3f}",
                    "-t",
                    f"{length:.3f}",
                    "-i",
                    str(path),
                    "-vn",
                    "-c",
                    "copy",
                    str(partial),
                ],
                check=True,
                capture_output=True,
                timeout=3600,
            )
            partial.replace(piece)  # complete pieces only: an interrupted cut is redone
        pieces.append(piece)
    return pieces
