"""The cap and durability: concurrent submitters against the per-account cap (Symbl's 429), and an engine killed
with SIGKILL in the middle of a job that resumes and completes it after a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.engine.calls import SALES_CALL, messages
from tests.engine.conftest import need_engine_extra
from tests.engine.servers import EngineProcess, Receiver

pytestmark = pytest.mark.engine
CAP_BODY = (
    "This API has a limit of maximum of `X` number of concurrent jobs per account. If you are looking to scale, and "
    "need more concurrent jobs than this limit, please contact us at support@symbl.ai"
)


async def test_the_cap_holds_under_concurrent_submitters(data_dir: Path) -> None:
    need_engine_extra()
    engine = EngineProcess(data_dir, workers=0, max_active_jobs=3, extra_apps='{"other-app": "other-secret"}').start()
    try:
        token = engine.token()
        async with httpx.AsyncClient(base_url=engine.url, headers={"Authorization": f"Bearer {token}"}) as client:
            body = {"messages": messages()[:2]}
            answers = await asyncio.gather(*(client.post("/v1/process/text", json=body) for _ in range(16)))
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [201] * 3 + [429] * 13
            assert all(a.json() == {"statusCode": 429, "message": CAP_BODY} for a in answers if a.status_code == 429)
            again = await client.post("/v1/process/text", json=body)
            assert again.status_code == 429  # nothing finished: still full
        other = httpx.post(
            engine.url + "/oauth2/token:generate",
            json={"type": "application", "appId": "other-app", "appSecret": "other-secret"},
        ).json()["accessToken"]
        separate = httpx.post(engine.url + "/v1/process/text", json=body, headers={"Authorization": f"Bearer {other}"})
        assert separate.status_code == 201  # each account has its own cap
        summary = httpx.get(
            f"{engine.url}/v1/conversations/{separate.json()['conversationId']}/summary",
            headers={"Authorization": f"Bearer {other}"},
        )
        assert summary.status_code == 404 and "not ready" in summary.json()["message"]
    finally:
        engine.stop()


def test_a_job_interrupted_by_sigkill_resumes_after_restart(data_dir: Path) -> None:
    need_engine_extra()
    engine = EngineProcess(data_dir, workers=1, job_lease_seconds=3).start()
    with Receiver() as receiver:
        long_call = messages(SALES_CALL * 60)  # 600 messages: several seconds of analysis
        response = httpx.post(
            engine.url + "/v1/process/text",
            json={"messages": long_call, "webhookUrl": receiver.url},
            headers={"Authorization": f"Bearer {engine.token()}"},
        )
        job_id, cid = response.json()["jobId"], response.json()["conversationId"]
        receiver.wait_for(job_id, "in_progress", timeout=30)
        engine.kill()  # the API, the supervisor and the worker, mid-job
        assert "completed" not in receiver.for_job(job_id)

        restarted = EngineProcess(data_dir, workers=1, job_lease_seconds=3)
        restarted.port, restarted.url = engine.port, engine.url
        restarted.start()
        try:
            headers = {"Authorization": f"Bearer {restarted.token()}"}
            deadline = time.monotonic() + 180
            while (status := httpx.get(f"{restarted.url}/v1/job/{job_id}", headers=headers).json()["status"]) != (
                "completed"
            ):
                assert status != "failed" and time.monotonic() < deadline, status
                time.sleep(0.5)
            got = httpx.get(f"{restarted.url}/v1/conversations/{cid}/messages", headers=headers).json()["messages"]
            assert len(got) == len(long_call)
            statuses = receiver.wait_for(job_id, "completed")
            assert statuses[0] == "scheduled" and statuses[-1] == "completed" and statuses.count("completed") == 1
        finally:
            restarted.stop()


async def test_the_engine_runs_on_postgresql(pg_dsn: str, data_dir: Path) -> None:
    """The engine's own state in PostgreSQL (its own database on the test server), a text job end to end."""
    need_engine_extra()
    import psycopg

    database = f"engine_{int(time.time() * 1000)}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = pg_dsn.rsplit("/", 1)[0] + "/" + database
    engine = EngineProcess(data_dir, workers=1, database_url=url, max_active_jobs=2).start()
    try:
        headers = {"Authorization": f"Bearer {engine.token()}"}
        async with httpx.AsyncClient(base_url=engine.url, headers=headers) as client:
            answers = await asyncio.gather(
                *(client.post("/v1/process/text", json={"messages": messages()}) for _ in range(6))
            )
            accepted = [a.json() for a in answers if a.status_code == 201]
            # The cap, taken under the PostgreSQL row lock (a job finishing mid-burst may free a slot).
            assert 2 <= len(accepted) < 6
            assert all(a.status_code in (201, 429) for a in answers)
            for ref in accepted:
                deadline = time.monotonic() + 120
                while (await client.get(f"/v1/job/{ref['jobId']}")).json()["status"] != "completed":
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.2)
            got = (await client.get(f"/v1/conversations/{accepted[0]['conversationId']}/messages")).json()
            assert len(got["messages"]) == len(messages())
        with psycopg.connect(url) as conn:
            done = conn.execute("SELECT count(*) FROM jobs WHERE status = 'completed'").fetchone()
            assert done == (len(accepted),)
    finally:
        engine.stop()
