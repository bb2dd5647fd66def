"""The Prefect events callscope emits; deployments are triggered by them and automations can route them.

Every event's resource is ``callscope.request.<request id>`` (or ``callscope.batch-<time>`` for an ingest batch), so
automations match ``callscope.request.*``. Emitting never raises: an event is a wake-up call, the state it announces
is already in storage, and the poll and SLA flows find it there if the event is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from storage import Request, RequestStatus

log = logging.getLogger("callscope.events")

INGESTED = "callscope.recordings.ingested"
JOB_COMPLETED = "callscope.job.completed"
JOB_FAILED = "callscope.job.failed"
STORED = "callscope.conversation.stored"
SLA_BREACHED = "callscope.sla.breached"


def emit(event: str, resource_id: str, payload: dict[str, Any]) -> bool:
    """Send one event to Prefect; False (logged) if it could not be queued."""
    from prefect.events import emit_event

    try:
        return emit_event(event=event, resource={"prefect.resource.id": resource_id}, payload=payload) is not None
    except Exception as exc:  # Prefect down or misconfigured: the state is durable, the poll path catches up
        log.warning("could not emit %s for %s: %s", event, resource_id, exc)
        return False


def request_payload(req: Request) -> dict[str, Any]:
    return {
        "request_id": req.id,
        "recording_id": req.recording_id,
        "job_id": req.job_id,
        "conversation_id": req.conversation_id,
        "status": req.status.value,
    }


def job_ended(req: Request) -> bool:
    """``callscope.job.completed`` or ``.failed`` for a request that has just reached either; False otherwise."""
    if req.status == RequestStatus.COMPLETED:
        return emit(JOB_COMPLETED, f"callscope.request.{req.id}", request_payload(req))
    if req.status == RequestStatus.FAILED:
        return emit(JOB_FAILED, f"callscope.request.{req.id}", {**request_payload(req), "reason": req.last_error})
    return False
