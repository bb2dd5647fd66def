"""The hourly SLA flow against a real Prefect server: a job stuck past 0.4 × its recording's length is flagged (a
markdown artifact and a `callscope.sla.breached` event); one that completed without a webhook is reconciled and its
fetch is triggered. Breaches reach a notification block through the automation `callscope alerts` sets up."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows import deployed, events
from flows.context import Pipeline
from flows.settings import PipelineSettings
from storage import RequestStatus
from tests.deployments.conftest import events_named, eventually, runs_of, submit_example
from tests.engine.servers import EngineProcess
from tests.flows.conftest import symbl_settings

S = RequestStatus


class NotificationSink:
    """A real HTTP endpoint on loopback that records what a Prefect notification block posts to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink() -> Iterator[NotificationSink]:
    s = NotificationSink()
    yield s
    s.close()


async def test_a_job_stuck_past_its_share_is_flagged_and_notified(
    env: PipelineSettings, sink: NotificationSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client

    from deployments.alerts import AUTOMATION, UnknownBlock, route_sla_breaches
    from flows.context import pipeline

    with pytest.raises(UnknownBlock, match="custom-webhook/sla-sink"):
        await route_sla_breaches("custom-webhook/sla-sink")
    block = CustomWebhookNotificationBlock(
        name="callscope", url=sink.url, json_data={"subject": "{{subject}}", "body": "{{body}}"}
    )
    await block.save("sla-sink", overwrite=True)
    first = await route_sla_breaches("custom-webhook/sla-sink")
    assert await route_sla_breaches("custom-webhook/sla-sink") == first  # updated in place, not duplicated
    async with get_client() as client:
        assert [a.id for a in await client.read_automations_by_name(AUTOMATION)] == [first]

    idle = EngineProcess(tmp_path / "idle-engine", workers=0).start()  # jobs stay scheduled for ever
    try:
        symbl = symbl_settings(idle)
        monkeypatch.setenv("CALLSCOPE_SYMBL_BASE_URL", str(symbl.base_url))
        started = time.time()
        async with pipeline(PipelineSettings(), symbl) as ctx:
            rid = await submit_example(ctx, tmp_path, "sales-call-stereo.mp3")
            req = await ctx.repo.get_request(rid)
            assert req is not None and req.submitted_at is not None
            early = await deployed.sla()
            assert early == {"reconciled": 0, "flagged": 0}
            await asyncio.sleep(max(0.0, 0.4 * req.duration_s - (time.time() - req.submitted_at.timestamp())) + 0.5)
            late = await deployed.sla()
            assert late == {"reconciled": 0, "flagged": 1}
    finally:
        idle.stop()

    async with get_client() as client:
        artifact = await client.read_latest_artifacts()
    reports = [a for a in artifact if a.key == "sla-report"]
    assert reports and rid in str(reports[0].data) and "Flagged: 1" in str(reports[0].data)

    async def breach() -> list[dict[str, object]]:
        return [e for e in await events_named(events.SLA_BREACHED, started) if e["payload"]["request_id"] == rid]

    (event,) = await eventually(breach, within=60, what="the callscope.sla.breached event")
    assert event["resource"]["prefect.resource.id"] == f"callscope.request.{rid}"  # type: ignore[index]
    assert event["payload"]["ratio"] >= 0.4  # type: ignore[index]

    async def notified() -> list[dict[str, str]]:
        return [n for n in sink.received if rid in n["subject"]]

    (note,) = await eventually(notified, within=90, what="the notification the automation sends")
    assert req.job_id in note["body"] and "× its" in note["body"], note


async def test_a_job_that_completed_without_a_webhook_is_reconciled(ctx: Pipeline, tmp_path: Path) -> None:
    assert ctx.webhook_base is None  # no receiver: the provider tells nobody
    rid = await submit_example(ctx, tmp_path, "sales-call-stereo.mp3")
    req = await ctx.repo.get_request(rid)
    assert req is not None and req.job_id
    await ctx.client.wait(req.job_id, interval=0.5, deadline=300)
    assert (await ctx.repo.get_request(rid)).status == S.SCHEDULED  # type: ignore[union-attr]
    assert req.submitted_at is not None
    await asyncio.sleep(max(0.0, 0.4 * req.duration_s - (time.time() - req.submitted_at.timestamp())) + 0.5)
    assert await deployed.sla() == {"reconciled": 1, "flagged": 0}  # overdue, so re-checked: it had completed
    after = await ctx.repo.get_request(rid)
    assert after is not None and after.status == S.COMPLETED

    async def fetch_run() -> list[object]:
        return [r for r in await runs_of("callscope-fetch/fetch") if r.parameters.get("job_id") == req.job_id]

    (run,) = await eventually(fetch_run, within=60, what="the fetch run triggered by the reconciliation")
    assert run.parameters["conversation_id"] == req.conversation_id  # type: ignore[attr-defined]
