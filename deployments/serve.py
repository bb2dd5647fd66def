"""callscope's deployments, as served by ``callscope serve`` (the same set as deployments/prefect.yaml).

| deployment | runs | on |
|---|---|---|
| ingest | `callscope-ingest` | cron (`CALLSCOPE_INGEST_CRON`), sources from `CALLSCOPE_INGEST_SOURCES` |
| submit | `callscope-submit` | cron (`CALLSCOPE_SUBMIT_CRON`); `recordings.ingested`, `job.completed`, `job.failed` |
| fetch | `callscope-fetch` | `job.completed`, with `job_id` and `conversation_id` from the event |
| experience | `callscope-experience` | `conversation.stored`, with `conversation_id` from the event |
| poll | `callscope-poll` | every `CALLSCOPE_POLL_EVERY` seconds |
| sla | `callscope-sla` | cron (`CALLSCOPE_SLA_CRON`, hourly) |
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType
from prefect.events import DeploymentEventTrigger

from flows import deployed, events
from flows.settings import PipelineSettings

REQUESTS: dict[str, str | list[str]] = {"prefect.resource.id": "callscope.request.*"}
QUEUE = ConcurrencyLimitStrategy.ENQUEUE
MODULE = EntrypointType.MODULE_PATH  # runs find the flows wherever callscope is installed


def _on(event: str, match: dict[str, str | list[str]] | None = None, parameters: dict[str, Any] | None = None) -> Any:
    return DeploymentEventTrigger(
        name=f"on {event}", expect={event}, match=match or {}, parameters=parameters or {}, enabled=True
    )


def build_deployments(settings: PipelineSettings | None = None) -> list[Any]:
    """The six deployments with their schedules and event triggers."""
    s = settings or PipelineSettings()
    job_ended = [_on(events.JOB_COMPLETED, REQUESTS), _on(events.JOB_FAILED, REQUESTS)]
    return [
        deployed.ingest.to_deployment(
            entrypoint_type=MODULE,
            name="ingest",
            cron=s.ingest_cron,
            description="Register new recordings from the configured sources.",
        ),
        deployed.submit.to_deployment(
            entrypoint_type=MODULE,
            name="submit",
            cron=s.submit_cron,
            triggers=[_on(events.INGESTED), *job_ended],
            # One at a time: each run fills all the headroom, so a queue of runs is just a queue of wake-ups.
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=QUEUE),
            description="Fill the free slots under the cap with the oldest pending requests.",
        ),
        deployed.fetch.to_deployment(
            entrypoint_type=MODULE,
            name="fetch",
            triggers=[
                _on(
                    events.JOB_COMPLETED,
                    REQUESTS,
                    {
                        "job_id": "{{ event.payload.job_id }}",
                        "conversation_id": "{{ event.payload.conversation_id }}",
                    },
                )
            ],
            concurrency_limit=ConcurrencyLimitConfig(limit=s.fetch_concurrency, collision_strategy=QUEUE),
            description="Fetch and store a completed job's conversation intelligence.",
        ),
        deployed.experience.to_deployment(
            entrypoint_type=MODULE,
            name="experience",
            triggers=[_on(events.STORED, REQUESTS, {"conversation_id": "{{ event.payload.conversation_id }}"})],
            concurrency_limit=ConcurrencyLimitConfig(limit=s.fetch_concurrency, collision_strategy=QUEUE),
            description="Create the white-labelled Trackers & Analytics report of a stored conversation.",
        ),
        deployed.poll.to_deployment(
            entrypoint_type=MODULE,
            name="poll",
            interval=s.poll_every,
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
            description="Check jobs no webhook told about; finish completed ones whose event was lost.",
        ),
        deployed.sla.to_deployment(
            entrypoint_type=MODULE,
            name="sla",
            cron=s.sla_cron,
            description="Re-check jobs running past the SLA; reconcile or flag them (callscope.sla.breached).",
        ),
    ]
