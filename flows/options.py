"""The provider request for one recording, built from its metadata (seed 002, step 3)."""

from __future__ import annotations

from connectors.symbl.models import ChannelMetadata, ProcessOptions, SpeakerInfo, TrackerSpec
from storage import Recording

PHONE_RATE_KEY = "callscope.sample_rate"
LOCAL_COPY_KEY = "callscope.local_copy"
TRACKERS_KEY = "callscope.trackers"
BATCH_KEY = "callscope.batch"
DEFAULT_SPEAKERS = 2


def tracker_metadata(trackers: list[TrackerSpec]) -> list[dict[str, object]]:
    """The trackers as kept in a recording's metadata at ingest (so a later, separate submit run sends them)."""
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in trackers]


def trackers_for(rec: Recording, default: list[TrackerSpec]) -> list[TrackerSpec]:
    """The trackers recorded with the recording when it was ingested, else ``default``."""
    stored = rec.metadata.get(TRACKERS_KEY)
    return [TrackerSpec.model_validate(t) for t in stored] if isinstance(stored, list) and stored else default


def process_options(
    rec: Recording, *, webhook_url: str | None, trackers: list[TrackerSpec], confidence: float | None = None
) -> ProcessOptions:
    """Separate channels → per-channel recognition with each channel's speaker; otherwise diarization with the
    speaker count (2 when the metadata does not say; none for a single speaker). Trackers: those kept with the
    recording at ingest, else ``trackers``."""
    options = ProcessOptions(
        name=rec.file_name,
        webhook_url=webhook_url,
        custom_vocabulary=rec.custom_vocabulary or None,
        language_code=rec.language_code,
        timezone_offset=rec.timezone_offset,
        trackers=trackers_for(rec, trackers) or None,
        confidence_threshold=confidence,
        enable_summary=True,
    )
    rate = rec.metadata.get(PHONE_RATE_KEY)
    if isinstance(rate, int | float) and rate <= 8000:
        options.mode = "phone"
    if rec.separate_channels:
        options.enable_separate_recognition_per_channel = True
        options.channel_metadata = [
            ChannelMetadata(channel=s.channel or i + 1, speaker=SpeakerInfo(name=s.name, email=s.email))
            for i, s in enumerate(rec.speakers)
        ]
    else:
        count = rec.speaker_count or (len(rec.speakers) if rec.speakers else DEFAULT_SPEAKERS)
        if count > 1:
            options.enable_speaker_diarization = True
            options.diarization_speaker_count = count
    return options
