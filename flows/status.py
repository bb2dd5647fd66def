"""Await: one idempotent status handler behind both the webhook path and the poll path. Webhooks are hints: the
handler always re-reads the job from the Job API before moving a request forward."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from pydantic import ValidationError

from connectors.symbl.errors import NotFound, SymblError
from connectors.symbl.models import Job, WebhookPayload
from flows.context import Pipeline
from storage import ACTIVE, IllegalTransition, Request, RequestStatus, StatusConflict
from storage.models import utcnow

log = logging.getLogger("callscope.status")
S = RequestStatus
ORDER = {S.SUBMITTING: 0, S.SCHEDULED: 1, S.IN_PROGRESS: 2, S.COMPLETED: 3}
REMOTE = {"scheduled": S.SCHEDULED, "in_progress": S.IN_PROGRESS, "completed": S.COMPLETED, "failed": S.FAILED}


class CallbackResult:
    APPLIED = "applied"
    UNKNOWN_TOKEN = "unknown_token"  # noqa: S105 - an outcome name, not a secret
    JOB_MISMATCH = "job_mismatch"
    NOT_YET_SUBMITTED = "not_yet_submitted"  # the job id never appeared: the poll path will catch up
    INVALID = "invalid"


def is_news(remote: RequestStatus, stored: RequestStatus) -> bool:
    """True when the remote status is further on than the stored active one (requests never move backwards)."""
    return ORDER[remote] > ORDER[stored]


async def apply_job(ctx: Pipeline, req: Request, job: Job) -> Request:
    """Move ``req`` forward to the job's status; never backwards (late or duplicate news changes nothing)."""
    target = REMOTE.get(job.status)
    if target is None or req.status not in ACTIVE:
        return req
    if target == S.FAILED:
        reason = job.message or "the provider reported the job failed"
        try:
            new = await ctx.repo.transition(req.id, S.FAILED, expected=ACTIVE, note=reason, last_error=reason)
        except StatusConflict:
            return req
        return new
    if not is_news(target, req.status):
        return req
    try:
        new = await ctx.repo.transition(req.id, target, expected=ACTIVE)
    except (StatusConflict, IllegalTransition):
        return req
    return new


async def check_request(ctx: Pipeline, req: Request) -> Request:
    """Re-read the request's job from the Job API and apply it. A job the provider does not know fails the request."""
    if req.job_id is None:
        return req
    try:
        job = await ctx.client.get_job(req.job_id)
    except NotFound:
        reason = f"the provider does not know job {req.job_id}"
        try:
            return await ctx.repo.transition(req.id, S.FAILED, expected=ACTIVE, note=reason, last_error=reason)
        except StatusConflict:
            return req
    return await apply_job(ctx, req, job)


async def check_active(
    ctx: Pipeline, requests: Iterable[Request] | None = None, *, silent_for: float = 0.0
) -> list[Request]:
    """The poll path: check every active request that has a job id and no news for ``silent_for`` seconds (webhooks
    are the fast path; polling is the safety net for the ones they missed). Bounded concurrency."""
    quiet_since = utcnow() - timedelta(seconds=silent_for)
    candidates = requests if requests is not None else await ctx.repo.active_requests()
    pending = [r for r in candidates if r.job_id and r.updated_at <= quiet_since]
    gate = asyncio.Semaphore(ctx.settings.fetch_concurrency * 4)

    async def one(r: Request) -> Request:
        async with gate:
            try:
                return await check_request(ctx, r)
            except SymblError as exc:  # transient after the client's retries: the next round tries again
                log.warning("checking %s: %s", r.id, exc)
                return r

    return list(await asyncio.gather(*(one(r) for r in pending)))


def callback_token(req: Request) -> str:
    """The last segment of a request's webhook URL: its id and its secret (``<request id>.<webhook token>``)."""
    return f"{req.id}.{req.webhook_token}"


async def authenticate(ctx: Pipeline, token: str) -> Request | None:
    """The request a callback token belongs to, or None; the secret is compared in constant time."""
    request_id, _, secret = token.partition(".")
    req = await ctx.repo.get_request(request_id) if request_id and secret else None
    if req is None or not hmac.compare_digest(secret.encode(), req.webhook_token.encode()):
        return None
    return req


@dataclass
class Handled:
    """What one callback did: its outcome, the request after it, and whether this call moved the request on."""

    result: str
    request: Request | None = None
    moved: bool = False


async def handle_callback(
    ctx: Pipeline, token: str, payload: object, *, lookup_retries: int = 5, lookup_delay: float = 0.5
) -> Handled:
    """The webhook path: authenticate the token, wait briefly for the job id if the webhook outran the submitter
    (seed 002), then re-read the job and apply it. Safe to call any number of times, in any order; of concurrent
    calls at most one reports ``moved`` for a status change."""
    req = await authenticate(ctx, token)
    if req is None:
        return Handled(CallbackResult.UNKNOWN_TOKEN)
    try:
        hint = WebhookPayload.model_validate(payload)
    except ValidationError:
        return Handled(CallbackResult.INVALID, req)
    for _ in range(lookup_retries):
        if req is None or req.job_id is not None:
            break
        await asyncio.sleep(lookup_delay)
        req = await ctx.repo.get_request(req.id)
    if req is None or req.job_id is None:
        return Handled(CallbackResult.NOT_YET_SUBMITTED, req)
    if req.job_id != hint.job_id:
        log.warning("callback for request %s names job %s, not its job", req.id, hint.job_id)
        return Handled(CallbackResult.JOB_MISMATCH, req)
    hinted = REMOTE.get(hint.status)
    if req.status in ACTIVE and hinted in ORDER and not is_news(hinted, req.status):
        return Handled(CallbackResult.APPLIED, req)  # news we already have: nothing to re-read
    after = await check_request(ctx, req)
    return Handled(CallbackResult.APPLIED, after, moved=after.version != req.version)
