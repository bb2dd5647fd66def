"""The webhook path against a real Prefect server: engine → receiver → storage → event → automation → fetch run,
and the receiver under abuse: every good callback processed once, everything else refused, storage consistent."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from pathlib import Path

import httpx
import pytest

from connectors.recordings import scan_folder
from flows import deployed, events, tasks
from flows.context import Pipeline
from flows.ingest import register
from flows.settings import PipelineSettings
from flows.status import callback_token
from storage import NewRecording, Request, RequestStatus
from tests.deployments.conftest import EXAMPLES, events_named, eventually, runs_of, submit_example
from tests.servers import free_port

S = RequestStatus


async def test_a_callback_creates_a_fetch_run_with_the_job_and_conversation(hooked: Pipeline, tmp_path: Path) -> None:
    ctx = hooked
    call = tmp_path / "calls"
    call.mkdir()
    (call / "support-call-mono.mp3").write_bytes((EXAMPLES / "support-call-mono.mp3").read_bytes())
    (ingested,) = await register(ctx, scan_folder(call))
    assert ingested.registration is not None
    rid = ingested.registration.requests[0].id
    assert await tasks.submit_pending(ctx) == {"submitted": 1}
    req = await ctx.repo.get_request(rid)
    assert req is not None and req.job_id and req.conversation_id

    async def fetch_run() -> object:
        runs = [r for r in await runs_of("callscope-fetch/fetch") if r.parameters.get("job_id") == req.job_id]
        return runs[0] if runs else None

    # Nobody polls here: only the engine's webhook to the receiver can move the request and emit the event.
    run = await eventually(fetch_run, within=180, what="a fetch run created by the job.completed trigger")
    assert run.parameters == {"job_id": req.job_id, "conversation_id": req.conversation_id}  # type: ignore[attr-defined]
    after = await ctx.repo.get_request(rid)
    assert after is not None and after.status == S.COMPLETED
    assert [h.status for h in after.history].count(S.COMPLETED) == 1

    # The run the automation created, executed here with its templated parameters: stored, then reported.
    assert await deployed.fetch(**run.parameters) == S.STORED.value  # type: ignore[attr-defined]
    assert await deployed.experience(req.conversation_id) == 1
    final = await ctx.repo.get_request(rid)
    assert final is not None and final.status == S.REPORTED
    exp = await ctx.repo.get_experience(req.conversation_id, "audio-summary")
    assert exp is not None and exp.url.startswith("http")


async def _completed_text_jobs(ctx: Pipeline, n: int) -> list[Request]:
    """``n`` requests whose jobs really completed on the engine (text jobs: a second each) and nobody told us."""
    out = []
    for i in range(n):
        reg = await ctx.repo.register(
            NewRecording(
                content_hash=hashlib.sha256(f"burst {i}".encode()).hexdigest(),
                source_uri=f"test://burst/{i}",
                file_name=f"burst-{i}.txt",
                duration_s=30,
            )
        )
        (claimed,) = await ctx.repo.claim(1)
        assert claimed.recording_id == reg.recording.id
        text = f"Hello, this is call number {i}. Please send the invoice by Friday."
        ref = await ctx.client.submit_text(
            {"messages": [{"payload": {"content": text}, "from": {"name": "Dana"}}]},
            idempotency_key=claimed.idempotency_key,
        )
        out.append(
            await ctx.repo.transition(claimed.id, S.SCHEDULED, job_id=ref.job_id, conversation_id=ref.conversation_id)
        )
    for r in out:
        assert r.job_id is not None
        await ctx.client.wait(r.job_id, interval=0.5, deadline=120)
    return out


async def test_receiver_abuse_and_a_burst_of_1000_callbacks(hooked: Pipeline, receiver: str) -> None:
    ctx = hooked
    started = time.time()
    reqs = await _completed_text_jobs(ctx, 10)
    url = f"{receiver}/webhooks/symbl/"
    good: list[tuple[str, object, int]] = []
    for r in reqs:
        token = callback_token(r)
        good += [(token, {"jobId": r.job_id, "status": "completed"}, 202)] * 70  # duplicates
        good += [(token, {"jobId": r.job_id, "status": s}, 202) for s in ["in_progress", "scheduled"] * 5]  # re-orders
    bad: list[tuple[str, object, int]] = []
    for r in reqs:
        token = callback_token(r)
        bad += [(f"{r.id}.not-the-secret", {"jobId": r.job_id, "status": "completed"}, 401)] * 10
        bad += [(f"no-such-request.{r.webhook_token}", {"jobId": r.job_id, "status": "completed"}, 401)] * 5
        bad += [(token, b"\x00 not json {", 400)] * 3
        bad += [(token, {"jobId": reqs[0].job_id if r is not reqs[0] else reqs[1].job_id, "status": "completed"}, 400)]
        bad += [(token, {"jobId": r.job_id, "status": "completed", "pad": "x" * 100_000}, 413)]
    calls = good + bad
    assert len(calls) == 1000
    random.Random(5).shuffle(calls)

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=64)) as http:

        async def send(token: str, body: object) -> int:
            if isinstance(body, bytes):
                resp = await http.post(url + token, content=body, headers={"content-type": "application/json"})
            else:
                resp = await http.post(url + token, json=body)
            return resp.status_code

        codes = await asyncio.gather(*(send(t, b) for t, b, _ in calls))
    assert [c for c, (_, _, want) in zip(codes, calls, strict=True) if c != want] == []

    for r in reqs:  # storage consistent: each request completed exactly once, with its own job
        after = await ctx.repo.get_request(r.id)
        assert after is not None and (after.status, after.job_id) == (S.COMPLETED, r.job_id)
        assert [h.status for h in after.history].count(S.COMPLETED) == 1

    wanted = {r.job_id for r in reqs}

    async def all_announced() -> list[dict[str, object]] | None:
        found = [e for e in await events_named(events.JOB_COMPLETED, started) if e["payload"]["job_id"] in wanted]
        return found if len(found) >= len(wanted) else None

    announced = await eventually(all_announced, within=60, what="one job.completed event per job")
    await asyncio.sleep(3)  # anything extra would have arrived by now
    announced = [e for e in await events_named(events.JOB_COMPLETED, started) if e["payload"]["job_id"] in wanted]
    assert sorted(e["payload"]["job_id"] for e in announced) == sorted(wanted)  # once each

    async def fetch_runs() -> list[str] | None:
        jobs = [r.parameters.get("job_id") for r in await runs_of("callscope-fetch/fetch")]
        mine = [j for j in jobs if j in wanted]
        return mine if len(mine) >= len(wanted) else None

    fetches = await eventually(fetch_runs, within=60, what="one fetch run per job")
    assert sorted(fetches) == sorted(wanted)  # type: ignore[type-var]


async def test_a_callback_while_prefect_is_down_is_finished_by_the_poll_flow(
    ctx: Pipeline, env: PipelineSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver writes before it emits: with Prefect unreachable the callback is still accepted and recorded, and
    the poll flow later finds the completed request and finishes it (fetch and report)."""
    from deployments.stack import Receiver

    rid = await submit_example(ctx, tmp_path, "sales-call-stereo.mp3")
    r = await ctx.repo.get_request(rid)
    assert r is not None and r.job_id
    await ctx.client.wait(r.job_id, interval=0.5, deadline=300)
    dead_prefect = {"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    with Receiver(env, env=dead_prefect) as url:
        async with httpx.AsyncClient(timeout=60) as http:
            resp = await http.post(
                f"{url}/webhooks/symbl/{callback_token(r)}", json={"jobId": r.job_id, "status": "completed"}
            )
    assert resp.status_code == 202, resp.text
    after = await ctx.repo.get_request(rid)
    assert after is not None and after.status == S.COMPLETED
    monkeypatch.setenv("CALLSCOPE_POLL_EVERY", "5")
    await asyncio.sleep(5.5)  # nothing fetched it: it sits completed past the poll flow's patience
    outcome = await deployed.poll()
    assert outcome["finished"] == 1, outcome
    done = await ctx.repo.get_request(rid)
    assert done is not None and done.status == S.REPORTED
