"""`callscope run`: ingest the given sources, then drive every outstanding request through submit → await → fetch →
store → report until all are done, in one Prefect flow run (tasks inside, bounded concurrency)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow

from connectors.recordings import Rejected, SourceRecording, fetch_urls, scan_folder
from connectors.symbl import SymblSettings
from flows import tasks
from flows.context import Pipeline, load_trackers, pipeline
from flows.ingest import Ingested, register
from flows.receiver import loopback_receiver
from flows.settings import PipelineSettings
from flows.status import handle_callback
from storage import ACTIVE, BusinessUX, IntelligenceApi, Repository, Request, RequestStatus

log = logging.getLogger("callscope.run")
S = RequestStatus
OPEN = frozenset({S.PENDING, S.SUBMITTING, S.SCHEDULED, S.IN_PROGRESS, S.COMPLETED, S.FETCHED, S.STORED})
Tick = Callable[[Counter[RequestStatus]], None]
AFTER_JOB = frozenset({S.COMPLETED, S.FETCHED, S.STORED})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class Hooks:
    """Set by the CLI before the flow runs (a flow's parameters must be JSON; callbacks are not)."""

    symbl: SymblSettings | None = None
    settings: PipelineSettings | None = None
    on_ingested: Callable[[list[Ingested]], None] | None = None
    on_tick: Tick | None = None


HOOKS = Hooks()


@dataclass
class Row:
    """One line of the run's summary."""

    file_name: str
    status: str
    duration_s: float | None = None
    speakers: int | None = None
    trackers: list[str] = field(default_factory=list)
    report_url: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == S.REPORTED.value


def folder_extras(ctx: Pipeline, folder: Path) -> list[BusinessUX]:
    """``trackers.json`` and ``business_ux.json`` next to the recordings, if present."""
    if (folder / "trackers.json").is_file() and not ctx.trackers:
        ctx.trackers = load_trackers(folder / "trackers.json")
    ux_file = folder / "business_ux.json"
    if not ux_file.is_file():
        return []
    import json

    raw = json.loads(ux_file.read_text())
    return [BusinessUX.model_validate(u) for u in (raw if isinstance(raw, list) else [raw])]


async def collect_sources(
    ctx: Pipeline, folders: list[str], urls: list[str], buckets: list[str]
) -> list[SourceRecording | Rejected]:
    items: list[SourceRecording | Rejected] = []
    for folder in folders:
        for ux in folder_extras(ctx, Path(folder)):
            await ctx.repo.put_business_ux(ux)
        items += scan_folder(Path(folder))
    if urls:
        items += await fetch_urls(urls, ctx.settings.work_dir / "downloads")
    for bucket in buckets:
        from connectors.recordings.s3 import scan_bucket

        items += await scan_bucket(bucket, ctx.settings.work_dir / "downloads", ctx.s3())
    return items


async def drive(
    ctx: Pipeline,
    callbacks: asyncio.Queue[tuple[str, Any]] | None = None,
    *,
    deadline: float | None = None,
    resume: bool = True,
    on_tick: Tick | None = None,
    until: RequestStatus = S.REPORTED,
) -> bool:
    """Run submit → await → fetch → report until no request is open; False if the deadline came first.

    Callbacks (from a receiver) wake the loop at once; active jobs are also polled every ``poll_interval``.
    ``until=COMPLETED`` stops after the jobs (benchmarks of the scheduling alone).
    """
    s = ctx.settings
    still_open = OPEN if until == S.REPORTED else ACTIVE | {S.PENDING}
    stop_at = time.monotonic() + (deadline if deadline is not None else s.run_deadline)
    if resume:  # a previous run died mid-submission: send those again with their keys (the provider de-duplicates)
        await tasks.reconcile_submitting(ctx, older_than=0)
    busy: dict[str, asyncio.Task[None]] = {}
    not_before: dict[str, float] = {}  # recording → when a failed fetch/report may be tried again
    gate = asyncio.Semaphore(s.fetch_concurrency)
    backoff_until = next_poll = next_reconcile = 0.0
    poller: asyncio.Task[Any] | None = None

    async def finish(recording_id: str) -> None:
        async with gate:
            try:
                if await tasks.fetch_and_store(ctx, recording_id):
                    await tasks.create_report(ctx, recording_id)
            except Exception as exc:
                if tasks.is_transient(exc):  # the task's own retries are spent: try again later
                    log.warning("recording %s: %s; trying again in %.0fs", recording_id, exc, s.poll_interval * 6)
                    not_before[recording_id] = time.monotonic() + s.poll_interval * 6
                else:
                    await fail_recording(ctx, recording_id, f"fetch or report failed: {exc}")

    while True:
        now = time.monotonic()
        if callbacks is not None:  # first: a completion frees a slot that the submit below refills at once
            batch = []
            while not callbacks.empty():
                batch.append(callbacks.get_nowait())
            if batch:
                await asyncio.gather(*(handle_callback(ctx, token, body) for token, body in batch))
        counts = await ctx.repo.counts_by_status()
        room = ctx.repo.cap - sum(counts.get(st, 0) for st in ACTIVE)
        if now >= backoff_until and counts.get(S.PENDING) and room > 0:  # a task run only when it can admit
            outcome = await tasks.submit_pending(ctx)
            if outcome.get("released"):
                backoff_until = now + s.backoff_429
        if now >= next_poll and any(counts.get(st) for st in ACTIVE) and (poller is None or poller.done()):
            # In the background, so Job API calls never hold up the refill of a slot a webhook just freed; and only
            # requests nothing was heard of for a poll interval (polling everything cost 0.01 of makespan ÷ ideal).
            poller = asyncio.create_task(tasks.check_active(ctx, silent_for=s.poll_interval if callbacks else 0.0))
            next_poll = now + s.poll_interval
        if now >= next_reconcile:
            await tasks.reconcile_submitting(ctx)
            next_reconcile = now + s.submit_stale_after / 2
        # ``counts`` is from before this round's submissions: at worst it shows work open, and the loop goes round.
        if until == S.REPORTED and any(counts.get(st) for st in AFTER_JOB):
            for rid in {r.recording_id for r in await ctx.repo.list_requests(AFTER_JOB)}:
                if rid not in busy and not_before.get(rid, 0.0) <= now:
                    busy[rid] = asyncio.create_task(finish(rid))
        for rid, t in list(busy.items()):
            if t.done():
                del busy[rid]
        if on_tick is not None:
            on_tick(Counter(counts))
        if not any(counts.get(st) for st in still_open) and not busy:
            if poller is not None:
                await poller
            return True
        if time.monotonic() >= stop_at:
            for t in [*busy.values(), *([poller] if poller else [])]:
                t.cancel()
            return False
        await _wait(callbacks, min(s.poll_interval, max(0.05, backoff_until - time.monotonic()), 1.0))


async def fail_recording(ctx: Pipeline, recording_id: str, reason: str) -> None:
    """Record a terminal failure after the job: every part of the recording fails with ``reason``."""
    log.error("recording %s: %s", recording_id, reason)
    for r in await ctx.repo.requests_for(recording_id):
        if r.status != S.FAILED:
            await ctx.repo.transition(r.id, S.FAILED, note=reason, last_error=reason)


async def _wait(callbacks: asyncio.Queue[tuple[str, Any]] | None, seconds: float) -> None:
    """Sleep until a callback arrives or ``seconds`` pass (the item stays queued for the loop)."""
    if callbacks is None or not callbacks.empty():
        await asyncio.sleep(0 if callbacks is not None else seconds)
        return
    try:
        item = await asyncio.wait_for(callbacks.get(), seconds)
    except TimeoutError:
        return
    callbacks.put_nowait(item)


async def summarise(ctx: Pipeline, ingested: list[Ingested]) -> list[Row]:
    """The stored view of each ingested item: status, length, speakers, trackers hit and report link."""
    rows = []
    for item in ingested:
        if item.registration is None:
            rows.append(Row(item.file_name, "rejected", reason=item.rejected))
            continue
        rec = item.registration.recording
        requests = await ctx.repo.requests_for(rec.id)
        rows.append(await recording_row(ctx.repo, rec.file_name, rec.duration_s, requests))
    return rows


async def recording_row(repo: Repository, file_name: str, duration_s: float, requests: list[Request]) -> Row:
    row = Row(file_name, _overall(requests), duration_s=duration_s)
    failed = [r for r in requests if r.status == S.FAILED]
    if failed:
        row.reason = failed[0].last_error
    cid = requests[0].conversation_id if requests else None
    if cid and row.status in (S.STORED.value, S.REPORTED.value):
        members = await repo.get_intelligence(cid, IntelligenceApi.MEMBERS)
        row.speakers = len(members.items) if members else None
        trackers = await repo.get_intelligence(cid, IntelligenceApi.TRACKERS)
        row.trackers = sorted({t["name"] for t in (trackers.items if trackers else []) if t.get("matches")})
        exp = await repo.get_experience(cid, "audio-summary")
        row.report_url = exp.url if exp else None
    return row


def _overall(requests: list[Request]) -> str:
    if not requests:
        return "unknown"
    if any(r.status == S.FAILED for r in requests):
        return S.FAILED.value
    order = list(RequestStatus)
    return min(requests, key=lambda r: order.index(r.status)).status.value


@flow(name="callscope-run", log_prints=True)
async def run_flow(
    folders: list[str] | None = None, urls: list[str] | None = None, buckets: list[str] | None = None
) -> list[dict[str, Any]]:
    """Ingest the sources, process everything outstanding, return the summary rows."""
    settings = HOOKS.settings or PipelineSettings()
    symbl = HOOKS.symbl or SymblSettings()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    async with AsyncExitStack() as stack:
        webhook_base, listening = settings.webhook_public_url, False
        if webhook_base is None and urlsplit(symbl.api_root).hostname in LOOPBACK:
            # A provider on this machine can call back on loopback: completions wake the loop at once.
            webhook_base, listening = await stack.enter_async_context(loopback_receiver(queue)), True
        ctx = await stack.enter_async_context(pipeline(settings, symbl, webhook_base=webhook_base))
        items = await collect_sources(ctx, folders or [], urls or [], buckets or [])
        ingested = await register(ctx, items)
        if HOOKS.on_ingested:
            HOOKS.on_ingested(ingested)
        finished = await drive(ctx, queue if listening else None, on_tick=HOOKS.on_tick)
        rows = await summarise(ctx, ingested)
    if not finished:
        log.warning("stopped waiting after %.0fs; jobs go on — run again to pick them up", settings.run_deadline)
    return [vars(r) for r in rows]
