"""Await: one idempotent status handler behind both the webhook path and the poll path. Webhooks are hints: the
handler always re-reads the job from the Job API before moving a request forward."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from pydantic import ValidationError

from connectors.symbl.errors import NotFound, SymblError
from connectors.symbl.models import Job, WebhookPayload
from flows.context import Pipeline
from storage import ACTIVE, IllegalTransition, Request, RequestStatus, StatusConflict

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


async def check_active(ctx: Pipeline, requests: Iterable[Request] | None = None) -> list[Request]:
    """The poll path: check every active request that has a job id (bounded concurrency)."""
    pending = [r for r in (requests if requests is not None else await ctx.repo.active_requests()) if r.job_id]
    gate = asyncio.Semaphore(ctx.settings.fetch_concurrency * 4)

    async def one(r: Request) -> Request:
        async with gate:
            try:
                return await check_request(ctx, r)
            except SymblError as exc:  # transient after the client's retries: the next round tries again
                log.warning("checking %s: %s", r.id, exc)
                return r

    return list(await asyncio.gather(*(one(r) for r in pending)))


async def handle_callback(
    ctx: Pipeline, token: str, payload: object, *, lookup_retries: int = 5, lookup_delay: float = 0.5
) -> str:
    """The webhook path: find the request by its token, wait briefly for its job id if the webhook outran the
    submitter (seed 002), then re-read the job and apply it. Safe to call any number of times, in any order."""
    try:
        hint = WebhookPayload.model_validate(payload)
    except ValidationError:
        return CallbackResult.INVALID
    req = await ctx.repo.by_webhook_token(token)
    if req is None:
        return CallbackResult.UNKNOWN_TOKEN
    for _ in range(lookup_retries):
        if req is None or req.job_id is not None:
            break
        await asyncio.sleep(lookup_delay)
        req = await ctx.repo.get_request(req.id)
    if req is None or req.job_id is None:
        return CallbackResult.NOT_YET_SUBMITTED
    if req.job_id != hint.job_id:
        log.warning("callback for request %s names job %s, not its job", req.id, hint.job_id)
        return CallbackResult.JOB_MISMATCH
    hinted = REMOTE.get(hint.status)
    if req.status in ACTIVE and hinted in ORDER and not is_news(hinted, req.status):
        return CallbackResult.APPLIED  # news we already have (e.g. `scheduled` after the submit): nothing to re-read
    await check_request(ctx, req)
    return CallbackResult.APPLIED
