"""The Trackers & Analytics page for a stored conversation, white-labelled from its business's UX row; the URL and
its expiry are stored."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from connectors.symbl.models import ExperienceColor, ExperienceFont, ExperienceRequest
from flows.context import Pipeline
from storage import Experience, Recording, RequestStatus, StatusConflict
from storage.models import utcnow

S = RequestStatus
NAME = "audio-summary"


async def experience_request(ctx: Pipeline, rec: Recording) -> ExperienceRequest:
    """``audio-summary`` with the recording's URL (the submitted URL, or the source for uploads) and the white-label
    options of the recording's business, if it has a UX row."""
    audio_url = rec.recording_url or rec.source_uri
    if rec.recording_url is None and rec.source_uri.startswith("s3://"):  # submitted presigned: sign it anew
        from connectors.recordings.s3 import presign

        audio_url = await asyncio.to_thread(presign, ctx.s3(), rec.source_uri, ctx.settings.presign_expires_in)
    options: dict[str, object] = {}
    ux = await ctx.repo.get_business_ux(rec.business_name) if rec.business_name else None
    if ux is not None:
        options["logo"] = ux.logo_url
        options["favicon"] = ux.favicon_url
        if ux.colors:
            options["color"] = ExperienceColor(
                background=ux.colors.get("background"),
                topics_filter=ux.colors.get("topicsFilter"),
                insights_filter=ux.colors.get("insightsFilter"),
            )
        if ux.font:
            options["font"] = ExperienceFont(family=ux.font)
        options["read_only"] = ux.options.get("readOnly")
    return ExperienceRequest.model_validate(
        {"name": NAME, "audio_url": audio_url, "summaryURLExpiresIn": ctx.settings.report_expires_in, **options}
    )


async def create_report(ctx: Pipeline, recording_id: str) -> Experience | None:
    """Create (or, once done, return) the report of a stored recording; None while it is not stored yet."""
    requests = await ctx.repo.requests_for(recording_id)
    if not requests or any(r.status not in (S.STORED, S.REPORTED) for r in requests):
        return None
    conversation_id = requests[0].conversation_id
    assert conversation_id is not None
    existing = await ctx.repo.get_experience(conversation_id, NAME)
    if existing is None or any(r.status == S.STORED for r in requests):
        rec = await ctx.repo.get_recording(recording_id)
        assert rec is not None
        answer = await ctx.client.create_experience(conversation_id, await experience_request(ctx, rec))
        expires = ctx.settings.report_expires_in
        existing = await ctx.repo.put_experience(
            Experience(
                conversation_id=conversation_id,
                name=NAME,
                url=answer.url,
                expires_at=utcnow() + timedelta(seconds=expires) if expires else None,
            )
        )
    for r in requests:
        with contextlib.suppress(StatusConflict):
            await ctx.repo.transition(r.id, S.REPORTED, expected={S.STORED, S.REPORTED})
    return existing
