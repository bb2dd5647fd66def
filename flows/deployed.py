"""The flows behind callscope's Prefect deployments (deployments/serve.py, deployments/prefect.yaml).

Each is one short flow run over the shared storage, so any number may run at once on any machine: the cap is enforced
by the store's atomic claim, and every step is idempotent. They read their settings from the environment
(``CALLSCOPE_*``, ``CALLSCOPE_SYMBL_*``) and hand work on with events (flows/events.py):

ingest ─(recordings.ingested)→ submit ─ provider ─ webhook receiver / poll ─(job.completed)→ fetch
  ─(conversation.stored)→ experience;  job.completed and job.failed also trigger submit (a slot is free);
  the hourly SLA check re-checks overdue jobs and emits sla.breached.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_link_artifact, acreate_markdown_artifact, acreate_table_artifact

from flows import events, tasks
from flows.context import Pipeline, pipeline
from flows.ingest import register
from flows.options import BATCH_KEY
from flows.run import collect_sources, recording_row
from flows.sla import check_sla, emit_breaches
from flows.status import check_request
from storage import ACTIVE, RequestStatus
from storage.models import utcnow

S = RequestStatus
AFTER_JOB = (S.COMPLETED, S.FETCHED, S.STORED)


def split_sources(sources: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Folders, URLs and buckets from one list (``s3://…`` is a bucket, ``http(s)://…`` a URL, the rest folders)."""
    urls = [s for s in sources if re.match(r"https?://", s)]
    buckets = [s for s in sources if s.startswith("s3://")]
    return [s for s in sources if s not in urls and s not in buckets], urls, buckets


def artifact_key(text: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:100] or "callscope"


async def report_table(ctx: Pipeline, recording_ids: list[str], key: str, title: str) -> None:
    """A table artifact: recording, status, duration, speakers, trackers and report link of each."""
    rows = []
    for rid in recording_ids:
        rec = await ctx.repo.get_recording(rid)
        if rec is None:
            continue
        row = await recording_row(ctx.repo, rec.file_name, rec.duration_s, await ctx.repo.requests_for(rid))
        rows.append(
            {
                "recording": row.file_name,
                "status": row.status,
                "duration s": round(row.duration_s or 0, 1),
                "speakers": row.speakers,
                "trackers": ", ".join(row.trackers),
                "report": row.report_url or row.reason or "",
                "recording id": rid,
            }
        )
    if rows:
        await acreate_table_artifact(table=rows, key=key, description=title)


async def batch_members(key: str) -> list[str]:
    """The recording ids of an ingest batch, from its table artifact (every version lists the same recordings)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC, limit=1
        )
    if not found:
        return []
    data = found[0].data
    rows = json.loads(data) if isinstance(data, str) else data
    return [r["recording id"] for r in rows or [] if isinstance(r, dict) and r.get("recording id")]


@flow(name="callscope-ingest", log_prints=True)
async def ingest(sources: list[str] | None = None) -> dict[str, int]:
    """Register new recordings from folders, URLs and buckets (default: ``CALLSCOPE_INGEST_SOURCES``)."""
    async with pipeline() as ctx:
        folders, urls, buckets = split_sources(sources if sources is not None else ctx.settings.ingest_sources)
        batch = artifact_key(f"batch-{utcnow():%Y%m%d-%H%M%S-%f}")
        ingested = await register(ctx, await collect_sources(ctx, folders, urls, buckets), batch=batch)
        new = [i.registration for i in ingested if i.registration is not None and i.registration.created]
        rejected = [i for i in ingested if i.registration is None]
        counts = {"seen": len(ingested), "new": len(new), "rejected": len(rejected)}
        if new:
            await report_table(ctx, [r.recording.id for r in new], batch, f"Ingest {batch}: latest status of each")
            events.emit(events.INGESTED, f"callscope.{batch}", counts)
        for item in rejected:
            get_run_logger().warning("rejected %s: %s", item.file_name, item.rejected)
        return counts


@flow(name="callscope-submit", log_prints=True)
async def submit() -> dict[str, int]:
    """Fill the free headroom under the cap with the oldest pending requests (a 429 puts claims back)."""
    async with pipeline() as ctx:
        await tasks.reconcile_submitting(ctx)
        return await tasks.submit_pending(ctx)


@flow(name="callscope-fetch", flow_run_name="fetch-{job_id}", log_prints=True)
async def fetch(job_id: str, conversation_id: str | None = None) -> str:
    """Fetch and store the intelligence of a completed job; returns the request's status afterwards."""
    async with pipeline() as ctx:
        req = await ctx.repo.by_job_id(job_id)
        if req is None:
            raise ValueError(f"no request has job {job_id}")
        if conversation_id and req.conversation_id != conversation_id:
            raise ValueError(f"job {job_id} belongs to conversation {req.conversation_id}, not {conversation_id}")
        if req.status in ACTIVE:  # an event ahead of its state should not happen; re-read rather than trust it
            req = await check_request(ctx, req)
        if await tasks.fetch_and_store(ctx, req.recording_id):
            after = await ctx.repo.get_request(req.id) or req
            events.emit(events.STORED, f"callscope.request.{req.id}", events.request_payload(after))
            return after.status.value
        return (await ctx.repo.get_request(req.id) or req).status.value


@flow(name="callscope-experience", log_prints=True)
async def experience(conversation_id: str | None = None) -> int:
    """Create the report of a stored conversation (default: every stored one); table and link artifacts."""
    async with pipeline() as ctx:
        if conversation_id:
            requests = await ctx.repo.by_conversation_id(conversation_id)
        else:
            requests = await ctx.repo.list_requests([S.STORED])
        recording_ids = sorted({r.recording_id for r in requests})
        made = 0
        for rid in recording_ids:
            exp = await tasks.create_report(ctx, rid)
            if exp is None:
                continue
            made += 1
            rec = await ctx.repo.get_recording(rid)
            await acreate_link_artifact(
                link=exp.url,
                link_text=f"{rec.file_name if rec else rid}: Trackers & Analytics",
                key=artifact_key(f"report-{rid}"),
                description=f"Report for conversation {exp.conversation_id}; expires {exp.expires_at or 'never'}",
            )
        await _update_batches(ctx, recording_ids)
        return made


async def _update_batches(ctx: Pipeline, recording_ids: list[str]) -> None:
    """A new version of the table of each ingest batch these recordings came in (its latest version is the batch's
    state: complete once its last report is made); recordings from elsewhere go in a ``reports`` table."""
    batches: dict[str, list[str]] = {}
    for rid in recording_ids:
        rec = await ctx.repo.get_recording(rid)
        batch = rec.metadata.get(BATCH_KEY) if rec else None
        batches.setdefault(batch if isinstance(batch, str) else "", []).append(rid)
    for batch, rids in sorted(batches.items()):
        if batch:
            await report_table(ctx, await batch_members(batch) or rids, batch, f"Ingest {batch}: latest status of each")
        else:
            await report_table(ctx, rids, "reports", "Recordings reported by this run")


async def _finish_quiet(ctx: Pipeline, older_than: float) -> list[str]:
    """Fetch, store and report recordings that completed ``older_than`` seconds ago and were left there (their
    event was lost, or Prefect was down when the webhook came)."""
    cutoff = utcnow() - timedelta(seconds=older_than)
    stuck = [r for r in await ctx.repo.list_requests(AFTER_JOB) if r.updated_at <= cutoff]
    done = []
    for rid in sorted({r.recording_id for r in stuck}):
        if await tasks.fetch_and_store(ctx, rid) and await tasks.create_report(ctx, rid):
            done.append(rid)
    return done


@flow(name="callscope-poll", log_prints=True)
async def poll() -> dict[str, int]:
    """The poll path: re-read jobs no webhook told about lately; announce the ones that ended; finish completed
    recordings nobody picked up."""
    async with pipeline() as ctx:
        before = {r.id: r.version for r in await ctx.repo.active_requests()}
        checked = await tasks.check_active(ctx, silent_for=ctx.settings.poll_interval)
        ended = [r for r in checked if r.version != before.get(r.id) and r.status not in ACTIVE]
        for r in ended:
            events.job_ended(r)
        finished = await _finish_quiet(ctx, older_than=ctx.settings.poll_every)
        return {"checked": len(checked), "ended": len(ended), "finished": len(finished)}


@flow(name="callscope-sla", log_prints=True)
async def sla() -> dict[str, int]:
    """The SLA check: overdue active jobs are re-checked; ended ones move on, running ones are flagged (a markdown
    artifact and one ``callscope.sla.breached`` event each)."""
    async with pipeline() as ctx:
        report = await check_sla(ctx)
        for rid in report.reconciled:
            req = await ctx.repo.get_request(rid)
            if req is not None:
                events.job_ended(req)
        emit_breaches(report)
        await acreate_markdown_artifact(markdown=report.markdown(), key="sla-report", description="SLA check")
        return {"reconciled": len(report.reconciled), "flagged": len(report.flagged)}
