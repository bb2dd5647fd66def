"""A folder of recordings, with an optional manifest naming each file's metadata."""

from __future__ import annotations

from pathlib import Path

from connectors.recordings.audio import AUDIO_SUFFIXES
from connectors.recordings.manifest import MANIFEST_NAMES, ManifestEntry, ManifestError, read_manifest
from connectors.recordings.source import SourceRecording


def find_manifest(folder: Path) -> Path | None:
    return next((folder / n for n in MANIFEST_NAMES if (folder / n).is_file()), None)


def scan_folder(folder: Path) -> list[SourceRecording]:
    """The audio files under ``folder`` (recursively, by suffix, sorted), each with its manifest entry if any.

    A manifest row naming a file that is not there is an error: a typo must not silently drop a recording.
    """
    if not folder.is_dir():
        raise ManifestError(f"{folder} is not a folder")
    manifest = find_manifest(folder)
    entries: dict[str, ManifestEntry] = {}
    if manifest is not None:
        for entry in read_manifest(manifest):
            if entry.file is None:
                raise ManifestError(f"{manifest}: a folder manifest names files (url rows belong in a URL list)")
            entries[entry.file] = entry
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    names = {p.relative_to(folder).as_posix() for p in files}
    missing = sorted(set(entries) - names)
    if missing:
        raise ManifestError(f"{manifest}: no such file(s) in {folder}: {', '.join(missing)}")
    return [
        SourceRecording(
            path=p,
            source_uri=p.resolve().as_uri(),
            file_name=p.relative_to(folder).as_posix(),
            entry=entries.get(p.relative_to(folder).as_posix(), ManifestEntry()),
        )
        for p in files
    ]
