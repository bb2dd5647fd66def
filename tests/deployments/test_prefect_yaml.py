"""deployments/prefect.yaml: the same six deployments `callscope serve` serves, and deployable as documented — `prefect
deploy --all` against a real server, then a process worker runs one of them from the pulled working directory."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployments.serve import build_deployments
from flows.settings import PipelineSettings
from tests.conftest import unavailable
from tests.engine.servers import EngineProcess
from tests.flows.conftest import symbl_settings
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = ROOT / "deployments" / "prefect.yaml"


def _declared() -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}


def _schedules(d: Any) -> list[dict[str, Any]]:
    out = []
    for s in d.schedules:
        sched = s.schedule
        if hasattr(sched, "cron"):
            out.append({"cron": sched.cron})
        else:
            assert isinstance(sched.interval, timedelta)
            out.append({"interval": int(sched.interval.total_seconds())})
    return out


def _triggers(d: Any) -> list[dict[str, Any]]:
    out = []
    for t in d.triggers:
        trig: dict[str, Any] = {"type": "event", "name": t.name, "expect": sorted(t.expect)}
        if t.match.root:
            trig["match"] = dict(t.match.root)
        if t.parameters:
            trig["parameters"] = t.parameters
        out.append(trig)
    return out


def test_prefect_yaml_declares_what_serve_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("CALLSCOPE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(ROOT / "deployments")  # no .env: the defaults, which the YAML spells out
    served = {d.name: d for d in build_deployments(PipelineSettings())}
    declared = _declared()
    assert sorted(declared) == sorted(served)
    for name, d in served.items():
        y = declared[name]
        assert y["entrypoint"] == d.entrypoint, name
        assert y["description"] == d.description, name
        assert [{**s} for s in y.get("schedules", [])] == _schedules(d), name
        got = [{**t, "expect": sorted(t["expect"])} for t in y.get("triggers", [])]
        assert got == _triggers(d), name
        limit = y.get("concurrency_limit")
        if d.concurrency_limit is None:
            assert limit is None, name
        else:
            assert limit == {
                "limit": d.concurrency_limit,
                "collision_strategy": d.concurrency_options.collision_strategy.value,
            }, name
        assert y["work_pool"]["name"] == "callscope"
    pull = yaml.safe_load(PREFECT_YAML.read_text())["pull"]
    assert pull == [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $PWD }}"}}]


def _prefect(*args: str, env: dict[str, str], cwd: Path = ROOT, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_deploy_with_the_yaml_and_a_worker_runs_a_deployment(
    tmp_path: Path, pipeline_engine: EngineProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's three commands, then a run of the SLA deployment picked up by a worker started elsewhere."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.server import PrefectServer

    server = PrefectServer(tmp_path / "prefect", port=free_port())
    try:
        server.start()
    except RuntimeError as exc:
        unavailable(f"the Prefect server did not start: {exc}")
    symbl = symbl_settings(pipeline_engine)
    env = {
        **os.environ,
        **server.env(),
        "CALLSCOPE_STORAGE_URL": f"sqlite:///{tmp_path / 'callscope.db'}",
        "CALLSCOPE_WORK_DIR": str(tmp_path / "work"),
        "CALLSCOPE_SYMBL_BASE_URL": str(symbl.base_url),
        "CALLSCOPE_SYMBL_APP_ID": symbl.app_id or "",
        "CALLSCOPE_SYMBL_APP_SECRET": symbl.app_secret.get_secret_value() if symbl.app_secret else "",
    }
    try:
        _prefect("work-pool", "create", "callscope", "--type", "process", env=env)
        _prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(PREFECT_YAML), env=env)
        run = _prefect("deployment", "run", "callscope-sla/sla", env=env)
        assert "callscope-sla/sla" in run or "Created flow run" in run
        elsewhere = tmp_path / "worker"
        elsewhere.mkdir()
        _prefect("worker", "start", "--pool", "callscope", "--run-once", env=env, cwd=elsewhere, timeout=300)

        async def check() -> None:
            async with get_client() as client:
                deployments = {d.name: d for d in await client.read_deployments()}
                assert sorted(deployments) == sorted(_declared())
                for d in deployments.values():
                    assert d.entrypoint == f"flows.deployed.{d.name}"
                    assert d.pull_steps == [
                        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
                    ]  # {{ $PWD }} resolved when deploying
                automations = await client.read_automations()
                assert len(automations) == sum(len(y.get("triggers", [])) for y in _declared().values())
                # Besides the run asked for, the scheduler and the triggers may add runs of other deployments (due
                # ones the worker also runs): the SLA run must be there, and everything the worker ran completed.
                ran = [r for r in await client.read_flow_runs() if r.state is None or not r.state.is_scheduled()]
                assert deployments["sla"].id in [r.deployment_id for r in ran], ran
                assert all(r.state is not None and r.state.is_completed() for r in ran), [r.state for r in ran]

        with temporary_settings({PREFECT_API_URL: server.api_url}):
            asyncio.run(check())
    finally:
        server.stop()


def test_the_local_prefect_server_runs_on_postgresql(tmp_path: Path, pg_dsn: str) -> None:
    """`callscope serve --with-server` with CALLSCOPE_PREFECT_DATABASE_URL: Prefect's own state in PostgreSQL."""
    import uuid

    import httpx

    psycopg = pytest.importorskip("psycopg", reason="the `postgres` extra is not installed")
    from deployments.server import PrefectServer

    name = f"prefect_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = pg_dsn.replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0] + f"/{name}"
    server = PrefectServer(tmp_path / "prefect", port=free_port(), database_url=url)
    try:
        try:
            server.start()
        except RuntimeError as exc:
            pytest.fail(f"the Prefect server did not start on PostgreSQL: {exc}")
        created = httpx.post(f"{server.api_url}/flows/", json={"name": "callscope-on-postgres"}, timeout=30)
        assert created.status_code in (200, 201), created.text
    finally:
        server.stop()
    with psycopg.connect(pg_dsn.rsplit("/", 1)[0] + f"/{name}") as conn:  # written there, not to SQLite
        assert conn.execute("SELECT name FROM flow").fetchall() == [("callscope-on-postgres",)]
    assert not list((tmp_path / "prefect").glob("*.db"))
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
