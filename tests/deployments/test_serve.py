"""`callscope serve --with-server` as a user runs it: a local Prefect server, the embedded engine, the webhook receiver
and the six deployments come up; one ingest run carries recordings to their reports through schedules and event
triggers alone; SIGTERM brings everything down, with nothing left behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from storage import RequestStatus, open_repository
from tests.deployments.conftest import EXAMPLES
from tests.engine.conftest import need_engine_extra
from tests.flows.test_cli_run import holders
from tests.servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.engine]
CALLS = ("phone-call-8k.mp3", "sales-call-stereo.mp3", "support-call-mono.mp3")


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _descendants(pid: int) -> set[int]:
    """Every live process whose parent chain leads to ``pid``."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        kids = {p for p, pp in parents.items() if pp in frontier and p not in found}
        found |= kids
        frontier = kids
    return found


async def _statuses(url: str) -> dict[RequestStatus, int]:
    async with open_repository(url) as repo:
        return await repo.counts_by_status()


def test_serve_with_server_runs_the_pipeline_on_events_and_stops_cleanly(tmp_path: Path) -> None:
    need_engine_extra()
    ports = {k: free_port() for k in ("PREFECT", "ENGINE", "WEBHOOK")}
    store = f"sqlite:///{tmp_path / 'callscope.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLSCOPE_", "PREFECT_"))}
    env |= {
        "COLUMNS": "200",
        "PREFECT_HOME": str(tmp_path / "prefect-client"),
        "CALLSCOPE_STORAGE_URL": store,
        "CALLSCOPE_INGEST_SOURCES": json.dumps([str(EXAMPLES)]),  # with its manifest, trackers and UX row
        **{f"CALLSCOPE_{k}_PORT": str(v) for k, v in ports.items()},
    }
    log = (tmp_path / "serve.log").open("w+b")
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--with-server"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def output() -> str:
        log.flush()
        return (tmp_path / "serve.log").read_text(errors="replace")[-6000:]

    try:
        deadline = time.monotonic() + 300
        while "callscope-ingest/ingest" not in output():  # serve prints its deployments once they are registered
            assert serve.poll() is None, f"`callscope serve` exited with {serve.returncode}:\n{output()}"
            assert time.monotonic() < deadline, f"serve did not come up in 300 s:\n{output()}"
            time.sleep(1)
        assert all(_listening(p) for p in ports.values()), ports
        ui = httpx.get(f"http://127.0.0.1:{ports['PREFECT']}/ui-settings", timeout=30).json()
        assert ui["api_url"] == f"http://127.0.0.1:{ports['PREFECT']}/api", ui  # the UI talks to this server
        children = _descendants(serve.pid)

        client_env = env | {"PREFECT_API_URL": f"http://127.0.0.1:{ports['PREFECT']}/api"}
        run = subprocess.run(
            [sys.executable, "-m", "prefect", "deployment", "run", "callscope-ingest/ingest"],
            env=client_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr

        # From here only schedules and triggers move things: ingested → submit → webhook → fetch → stored → report.
        deadline = time.monotonic() + 600
        counts: dict[RequestStatus, int] = {}
        while counts.get(RequestStatus.REPORTED, 0) < len(CALLS):
            assert serve.poll() is None, f"`callscope serve` died:\n{output()}"
            assert time.monotonic() < deadline, f"not reported in 600 s: {counts}\n{output()}"
            time.sleep(2)
            if (tmp_path / "callscope.db").exists():
                counts = asyncio.run(_statuses(store))
        assert counts == {RequestStatus.REPORTED: len(CALLS)}, counts

        # What the Prefect UI shows: one table per ingest batch, whose latest version is the batch's final state.
        artifacts = httpx.post(f"{client_env['PREFECT_API_URL']}/artifacts/filter", json={}, timeout=30).json()
        tables = [a for a in artifacts if a["type"] == "table"]
        assert {a["key"] for a in tables} == {tables[0]["key"]} and tables[0]["key"].startswith("batch-"), tables
        # At ingest, then after each experience run; one run reports every conversation stored by then, so on a slow
        # machine two reports can share a version (CI 2026-11-30: 3 versions for 3 calls).
        assert len(tables) >= 2
        rows = json.loads(max(tables, key=lambda a: a["created"])["data"])
        assert sorted(r["recording"] for r in rows) == sorted(CALLS)
        assert all(r["status"] == "reported" and "/reports/" in r["report"] for r in rows), rows
        by_name = {r["recording"]: r for r in rows}
        assert "Budget" in by_name["sales-call-stereo.mp3"]["trackers"], rows  # the folder's trackers.json, sent by
        # the submit deployment, which never saw the folder
        links = [a for a in artifacts if (a["key"] or "").startswith("report-")]  # Prefect stores links as markdown
        assert len(links) == len(CALLS) and all("/reports/" in a["data"] for a in links), links

        serve.send_signal(signal.SIGTERM)
        try:
            code = serve.wait(120)
        except subprocess.TimeoutExpired:
            serve.kill()
            pytest.fail(f"serve did not stop within 120 s of SIGTERM:\n{output()}")
        assert code == 0, output()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        log.close()

    deadline = time.monotonic() + 30  # children got SIGTERM from their parent; give them a moment to be reaped
    while (left := {p for p in children if _alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"processes outlived `callscope serve`: {left}"
    assert not any(_listening(p) for p in ports.values())
    assert holders(tmp_path / ".callscope" / "engine" / "engine.db") == []
