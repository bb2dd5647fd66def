"""Ingest: register each source recording and its pending request(s), idempotent by content hash.

The bytes are hashed and the length probed from a local copy; recordings over 4 hours get one request per part
(split at submission, appended with PUT to one conversation)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pydantic import ValidationError

from connectors.recordings import AudioProbeError, Rejected, SourceRecording, probe, sha256_file
from connectors.symbl.models import TrackerSpec
from flows.context import Pipeline
from flows.options import BATCH_KEY, LOCAL_COPY_KEY, PHONE_RATE_KEY, TRACKERS_KEY, tracker_metadata
from storage import InvalidInput, NewRecording, Registration, Speaker


@dataclass(frozen=True)
class Ingested:
    """One source item's outcome: registered (new or already known) or rejected with a reason."""

    source_uri: str
    file_name: str
    registration: Registration | None = None
    rejected: str | None = None


def _describe(item: SourceRecording, trackers: list[TrackerSpec], batch: str | None) -> NewRecording:
    found = probe(item.path)
    e = item.entry
    metadata = dict(e.metadata)
    if batch:
        metadata[BATCH_KEY] = batch
    if trackers:
        metadata[TRACKERS_KEY] = tracker_metadata(trackers)
    if found.sample_rate:
        metadata[PHONE_RATE_KEY] = found.sample_rate
    if not item.source_uri.startswith("file:"):
        metadata[LOCAL_COPY_KEY] = str(item.path.resolve())
    return NewRecording(
        content_hash=sha256_file(item.path),
        source_uri=item.source_uri,
        file_name=item.file_name,
        duration_s=found.duration_s,
        recording_url=item.recording_url,
        language_code=e.language_code,
        timezone_offset=e.timezone_offset,
        custom_vocabulary=e.custom_vocabulary,
        business_name=e.business_name,
        speaker_count=e.speaker_count,
        separate_channels=e.separate_channels,
        speakers=[Speaker(**s.model_dump()) for s in e.speakers],
        metadata=metadata,
    )


async def register(
    ctx: Pipeline, items: list[SourceRecording | Rejected], *, batch: str | None = None
) -> list[Ingested]:
    """Register every source item (hashing and probing off the event loop); bad items are rejected, not raised.
    The trackers in force (``ctx.trackers``) are kept with each recording for whichever run submits it, and so is
    ``batch`` (the ingest run that first saw it)."""
    out = []
    for item in items:
        if isinstance(item, Rejected):
            out.append(Ingested(item.source_uri, item.file_name, rejected=item.reason))
            continue
        try:
            new = await asyncio.to_thread(_describe, item, ctx.trackers, batch)
            registration = await ctx.repo.register(new)
        except (AudioProbeError, InvalidInput, ValidationError, OSError) as exc:
            out.append(Ingested(item.source_uri, item.file_name, rejected=str(exc)))
            continue
        out.append(Ingested(item.source_uri, item.file_name, registration=registration))
    return out
