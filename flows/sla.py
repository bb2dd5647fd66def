"""The SLA check (DESIGN invariant 5): an active request older than ``sla_ratio`` × its recording's length is
re-checked against the Job API — completed or failed jobs are reconciled, the rest are flagged."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

from flows import events
from flows.context import Pipeline
from flows.status import check_request
from flows.submit import reconcile_submitting
from storage import ACTIVE, Request, RequestStatus
from storage.models import utcnow

log = logging.getLogger("callscope.sla")
S = RequestStatus


@dataclass
class Breach:
    request_id: str
    recording_id: str
    job_id: str | None
    status: str
    duration_s: float
    running_s: float

    @property
    def ratio(self) -> float:
        return self.running_s / self.duration_s


@dataclass
class SlaReport:
    checked_at: datetime
    ratio: float
    reconciled: list[str] = field(default_factory=list)
    """Overdue requests whose job had ended: moved on (completed → fetch, failed → recorded)."""
    flagged: list[Breach] = field(default_factory=list)
    """Still running past the SLA."""

    def markdown(self) -> str:
        lines = [
            f"# SLA check {self.checked_at:%Y-%m-%d %H:%M:%S} UTC",
            "",
            f"Limit: {self.ratio:.0%} of each recording's length. Reconciled: {len(self.reconciled)}. "
            f"Flagged: {len(self.flagged)}.",
        ]
        if self.flagged:
            lines += ["", "| request | job | status | length | running | × length |", "|---|---|---|---|---|---|"]
            lines += [
                f"| {b.request_id} | {b.job_id or '—'} | {b.status} | {b.duration_s:.0f} s | {b.running_s:.0f} s "
                f"| {b.ratio:.2f} |"
                for b in self.flagged
            ]
        return "\n".join(lines)


def _started(r: Request) -> datetime:
    return r.submitted_at or r.updated_at


async def check_sla(ctx: Pipeline, now: datetime | None = None) -> SlaReport:
    """Re-check every overdue active request; returns what was reconciled and what is flagged."""
    now = now or utcnow()
    ratio = ctx.settings.sla_ratio
    report = SlaReport(checked_at=now, ratio=ratio)
    overdue = await ctx.repo.active_older_than(ratio, now=now)
    if any(r.job_id is None for r in overdue):  # its submitter died between claim and job id
        await reconcile_submitting(ctx)
    for r in overdue:
        current = await ctx.repo.get_request(r.id) or r
        if current.job_id is not None and current.status in ACTIVE:
            current = await check_request(ctx, current)
        if current.status not in ACTIVE:
            report.reconciled.append(current.id)
            continue
        breach = Breach(
            request_id=current.id,
            recording_id=current.recording_id,
            job_id=current.job_id,
            status=current.status.value,
            duration_s=current.duration_s,
            running_s=(now - _started(current)).total_seconds(),
        )
        log.warning(
            "SLA breached: request %s (%s) running %.0fs for %.0fs of audio",
            r.id,
            breach.status,
            breach.running_s,
            breach.duration_s,
        )
        report.flagged.append(breach)
    return report


def emit_breaches(report: SlaReport) -> int:
    """One ``callscope.sla.breached`` Prefect event per flagged request (automations route them to notifications)."""
    for b in report.flagged:
        payload = {**asdict(b), "running_s": round(b.running_s, 1), "ratio": round(b.ratio, 3)}
        events.emit(events.SLA_BREACHED, f"callscope.request.{b.request_id}", payload)
    return len(report.flagged)
