"""What every source yields: a local copy of the recording's bytes with its metadata, or a rejection with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from connectors.recordings.manifest import ManifestEntry


@dataclass(frozen=True)
class SourceRecording:
    """A recording ready to register: ``path`` holds its bytes (the file itself, or a downloaded copy)."""

    path: Path
    source_uri: str
    file_name: str
    entry: ManifestEntry = field(default_factory=ManifestEntry)
    recording_url: str | None = None
    """An http(s) URL the provider can fetch instead of an upload (URL sources)."""


@dataclass(frozen=True)
class Rejected:
    """A source item that cannot become a recording (unreadable, not audio, empty); nothing was registered."""

    source_uri: str
    file_name: str
    reason: str
