"""Submit: claim the oldest pending requests within the cap's headroom and send each to the provider.

Durable before acting: the claim (with its idempotency key) is committed before the POST, and the ids the provider
returns are committed before anything else. A 429 puts the claim back; a terminal 4xx fails the request with the
provider's message; an ambiguous failure leaves the claim in ``submitting`` to be sent again with the same key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from connectors.recordings import AudioProbeError, split_into_parts
from connectors.symbl.errors import ConnectionFailed, TerminalError, TooManyJobs, TransientError
from connectors.symbl.models import AudioUrlRequest, JobRef
from flows.context import Pipeline
from flows.options import LOCAL_COPY_KEY, process_options
from flows.status import callback_token
from storage import Recording, Request, RequestStatus, StatusConflict
from storage.models import utcnow

log = logging.getLogger("callscope.submit")
S = RequestStatus


class Outcome:
    SUBMITTED = "submitted"
    RELEASED = "released"  # the provider's cap (429): back to pending, not a failure
    FAILED = "failed"
    RETRY_LATER = "retry_later"  # still submitting; sent again with the same key later


async def submit_pending(ctx: Pipeline, limit: int | None = None) -> dict[str, int]:
    """Claim up to the headroom (or ``limit``) and submit; returns how many ended in each outcome."""
    headroom = ctx.repo.cap - await ctx.repo.active_count()
    want = headroom if limit is None else min(limit, headroom)
    claimed = await ctx.repo.claim(want) if want > 0 else []
    return await submit_requests(ctx, claimed)


async def reconcile_submitting(ctx: Pipeline, older_than: float | None = None) -> dict[str, int]:
    """Send again, with their stored idempotency keys, requests left in ``submitting`` by a submitter that died
    (older than ``older_than`` seconds, default the ``submit_stale_after`` setting)."""
    age = timedelta(seconds=ctx.settings.submit_stale_after if older_than is None else older_than)
    now = utcnow()
    stale = [
        r
        for r in await ctx.repo.list_requests([S.SUBMITTING])
        if r.id not in ctx.in_flight and now - r.updated_at >= age
    ]
    for r in stale:
        log.info("request %s was left submitting (attempt %d); sending it again with its key", r.id, r.attempts)
    return await submit_requests(ctx, stale)


async def submit_requests(ctx: Pipeline, requests: list[Request]) -> dict[str, int]:
    """Submit claimed requests: recordings concurrently (bounded), the parts of one recording in order."""
    by_recording: dict[str, list[Request]] = defaultdict(list)
    for r in sorted(requests, key=lambda r: r.part):
        by_recording[r.recording_id].append(r)
    gate = asyncio.Semaphore(ctx.settings.submit_concurrency)
    counts: dict[str, int] = defaultdict(int)

    async def one_recording(parts: list[Request]) -> None:
        async with gate:
            for req in parts:
                outcome = await submit_one(ctx, req)
                counts[outcome] += 1
                if outcome != Outcome.SUBMITTED:  # later parts wait for this one
                    for later in parts[parts.index(req) + 1 :]:
                        await _put_back(ctx, later, f"waiting for part {req.part}")
                        counts[Outcome.RELEASED] += 1
                    return

    await asyncio.gather(*(one_recording(parts) for parts in by_recording.values()))
    return dict(counts)


async def submit_one(ctx: Pipeline, req: Request) -> str:
    """Send one claimed request and record the outcome durably."""
    ctx.in_flight.add(req.id)
    try:
        return await _submit(ctx, req)
    finally:
        ctx.in_flight.discard(req.id)


async def _submit(ctx: Pipeline, req: Request) -> str:
    rec = await ctx.repo.get_recording(req.recording_id)
    if rec is None:  # pragma: no cover - recordings are never deleted
        return await _fail(ctx, req, "its recording is missing from storage")
    conversation_id = None
    siblings = await ctx.repo.requests_for(rec.id)
    if req.part > 0:
        first = next(r for r in siblings if r.part == 0)
        if first.status == S.FAILED:
            return await _fail(ctx, req, f"part 0 failed: {first.last_error}")
        if first.conversation_id is None:
            await _put_back(ctx, req, "waiting for part 0")
            return Outcome.RELEASED
        conversation_id = first.conversation_id
    try:
        options = process_options(rec, webhook_url=ctx.webhook_url(callback_token(req)), trackers=ctx.trackers)
    except ValidationError as exc:  # the metadata makes a request the API would refuse
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return await _fail(ctx, req, f"invalid request: {problems}")
    parts = max(1, len(siblings))
    try:
        ref = await _send(ctx, rec, req, parts, options.model_dump(), conversation_id)
    except TooManyJobs as exc:
        await _put_back(ctx, req, f"provider at its cap: {exc.message}")
        return Outcome.RELEASED
    except ConnectionFailed as exc:
        if exc.before_send:  # surely never arrived: a plain release is safe
            await _put_back(ctx, req, f"provider unreachable: {exc.message}")
            return Outcome.RELEASED
        return await _later(ctx, req, exc)
    except TransientError as exc:
        return await _later(ctx, req, exc)
    except TerminalError as exc:
        return await _fail(ctx, req, f"the provider refused it: {exc.message}")
    except (AudioProbeError, OSError) as exc:
        return await _fail(ctx, req, f"cannot read the recording: {exc}")
    # StatusConflict: a webhook or another submitter (same key, same job) moved it on first; nothing to do.
    with contextlib.suppress(StatusConflict):
        await ctx.repo.transition(
            req.id,
            S.SCHEDULED,
            expected=[S.SUBMITTING],
            job_id=ref.job_id,
            conversation_id=ref.conversation_id,
            submitted_at=utcnow(),
            last_error=None,
        )
    return Outcome.SUBMITTED


async def _send(
    ctx: Pipeline, rec: Recording, req: Request, parts: int, options: dict, conversation_id: str | None
) -> JobRef:
    key = req.idempotency_key
    url = rec.recording_url
    if url is None and rec.source_uri.startswith("s3://") and parts == 1:
        from connectors.recordings.s3 import presign

        url = await asyncio.to_thread(presign, ctx.s3(), rec.source_uri, ctx.settings.presign_expires_in)
    if url is not None and parts == 1:
        body = AudioUrlRequest(url=url, **options)
        return await ctx.client.submit_audio_url(body, conversation_id=conversation_id, idempotency_key=key)
    local = local_copy(rec)
    pieces = await asyncio.to_thread(split_into_parts, local, parts, ctx.part_dir() / rec.id)
    return await ctx.client.submit_audio_file(
        pieces[req.part], options, conversation_id=conversation_id, idempotency_key=key
    )


def local_copy(rec: Recording) -> Path:
    """Where the recording's bytes are on this machine (the file itself, or the source's downloaded copy)."""
    stored = rec.metadata.get(LOCAL_COPY_KEY)
    if isinstance(stored, str):
        return Path(stored)
    parts = urlsplit(rec.source_uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    raise AudioProbeError(f"no local copy of {rec.source_uri}")


async def _put_back(ctx: Pipeline, req: Request, reason: str) -> None:
    with contextlib.suppress(StatusConflict):
        await ctx.repo.release(req.id, reason)


async def _later(ctx: Pipeline, req: Request, exc: Exception) -> str:
    """It may have arrived: keep the claim (and its key) for a later resend, which the provider de-duplicates."""
    log.warning("request %s: %s; it will be sent again with the same idempotency key", req.id, exc)
    with contextlib.suppress(StatusConflict):
        await ctx.repo.transition(req.id, S.SUBMITTING, expected=[S.SUBMITTING], last_error=str(exc))
    return Outcome.RETRY_LATER


async def _fail(ctx: Pipeline, req: Request, reason: str) -> str:
    log.warning("request %s failed: %s", req.id, reason)
    await ctx.repo.transition(req.id, S.FAILED, note=reason, last_error=reason)
    return Outcome.FAILED
