"""Recording sources: a folder (with an optional manifest), a list of URLs, an S3-compatible bucket; and the audio
helpers they share (hashing, duration probing, splitting long recordings into parts)."""

from connectors.recordings.audio import AudioProbeError, Probe, probe, probe_duration, sha256_file, split_into_parts
from connectors.recordings.folder import scan_folder
from connectors.recordings.manifest import ManifestEntry, ManifestError, read_manifest
from connectors.recordings.source import Rejected, SourceRecording
from connectors.recordings.urls import fetch_urls

__all__ = [
    "AudioProbeError",
    "ManifestEntry",
    "ManifestError",
    "Probe",
    "Rejected",
    "SourceRecording",
    "fetch_urls",
    "probe",
    "probe_duration",
    "read_manifest",
    "scan_folder",
    "sha256_file",
    "split_into_parts",
]
