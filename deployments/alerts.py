"""SLA alerts: an automation that sends every ``callscope.sla.breached`` event to a Prefect notification block.

Open-source Prefect has no SLAs; callscope's hourly SLA deployment emits one event per job running past its share of
the recording's length, and this automation turns each into a notification (Slack, Teams, e-mail, a custom webhook:
any notification block). ``callscope serve`` keeps it in place when ``CALLSCOPE_SLA_ALERT_BLOCK`` is set; ``callscope
alerts BLOCK`` sets it up against any Prefect server.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound

from flows import events

AUTOMATION = "callscope: SLA breaches"
SUBJECT = "callscope SLA breach: request {{ event.payload.request_id }}"
BODY = (
    "Job {{ event.payload.job_id }} (request {{ event.payload.request_id }}, recording "
    "{{ event.payload.recording_id }}) has been {{ event.payload.status }} for {{ event.payload.running_s }} s, "
    "{{ event.payload.ratio }} × its {{ event.payload.duration_s }} s recording."
)


class UnknownBlock(LookupError):
    """The notification block named in the settings does not exist on the Prefect server."""


def parse_block(block: str) -> tuple[str, str]:
    """``"slack-webhook/ops"`` → ``("slack-webhook", "ops")``."""
    slug, _, name = block.partition("/")
    if not slug or not name or "/" in name:
        raise ValueError(f"name a notification block as <block-type-slug>/<name> (slack-webhook/ops), not {block!r}")
    return slug, name


async def route_sla_breaches(block: str) -> UUID:
    """Create or update the automation sending each SLA breach to notification block ``block``; its id."""
    slug, name = parse_block(block)
    async with get_client() as client:
        try:
            doc = await client.read_block_document_by_name(name=name, block_type_slug=slug)
        except ObjectNotFound:
            raise UnknownBlock(
                f"no notification block {block!r} on the Prefect server; create it in the UI (Blocks) or with "
                f"Block.save(), then try again"
            ) from None
        assert doc.id is not None
        automation = AutomationCore(
            name=AUTOMATION,
            description=f"Sends each {events.SLA_BREACHED} event (the callscope-sla deployment) to {block}.",
            trigger=EventTrigger(
                expect={events.SLA_BREACHED},
                match={"prefect.resource.id": "callscope.request.*"},
                posture=Posture.Reactive,
                threshold=1,
                within=timedelta(0),
            ),
            actions=[SendNotification(block_document_id=doc.id, subject=SUBJECT, body=BODY)],
        )
        existing = await client.read_automations_by_name(AUTOMATION)
        if existing:
            await client.update_automation(existing[0].id, automation)
            return existing[0].id
        return await client.create_automation(automation)
