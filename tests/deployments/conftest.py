"""A real Prefect server (`prefect server start`, the code `callscope serve --with-server` uses) with callscope's
deployments and their event triggers applied, a fresh store per test, and the webhook receiver as a child process."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from flows.context import Pipeline, pipeline
from flows.settings import PipelineSettings
from tests.conftest import unavailable
from tests.engine.servers import EngineProcess
from tests.flows.conftest import symbl_settings
from tests.servers import free_port

T = TypeVar("T")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="package")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """PREFECT_API_URL of a fresh local server, for this process and its children, with the deployments applied."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.serve import build_deployments
    from deployments.server import PrefectServer

    server = PrefectServer(tmp_path_factory.mktemp("prefect-home"), port=free_port())
    try:
        server.start()
    except RuntimeError as exc:
        unavailable(f"the Prefect server did not start: {exc}")
    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            asyncio.run(_apply(build_deployments(PipelineSettings())))  # built outside a loop: to_deployment is sync
            yield server.api_url
    finally:
        _drain_prefect_workers()  # while the server is up: a worker left for a dead server hangs the next drain
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before
        server.stop()


def _drain_prefect_workers() -> None:
    """Send what this process's event and log workers still hold, and stop them."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all(timeout=30)
    APILogWorker.drain_all(timeout=30)


async def _apply(deployments: list[Any]) -> None:
    for d in deployments:
        await d.apply()


@pytest.fixture
def env(
    prefect_api: str, pipeline_engine: EngineProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> PipelineSettings:
    """CALLSCOPE_* for a fresh SQLite store and the real engine, as the deployments' flows and the receiver read
    them; returns the settings they resolve to."""
    symbl = symbl_settings(pipeline_engine)
    monkeypatch.setenv("CALLSCOPE_STORAGE_URL", f"sqlite:///{tmp_path / 'callscope.db'}")
    monkeypatch.setenv("CALLSCOPE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("CALLSCOPE_WEBHOOK_PORT", str(free_port()))
    monkeypatch.setenv("CALLSCOPE_SYMBL_BASE_URL", str(symbl.base_url))
    monkeypatch.setenv("CALLSCOPE_SYMBL_APP_ID", symbl.app_id or "")
    monkeypatch.setenv("CALLSCOPE_SYMBL_APP_SECRET", symbl.app_secret.get_secret_value() if symbl.app_secret else "")
    return PipelineSettings()


@pytest.fixture
def receiver(env: PipelineSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The webhook receiver (python -m deployments.webhook) on loopback; its URL is the webhook public URL."""
    from deployments.stack import Receiver

    with Receiver(env) as url:
        monkeypatch.setenv("CALLSCOPE_WEBHOOK_PUBLIC_URL", url)
        yield url


@pytest.fixture
async def ctx(env: PipelineSettings) -> AsyncIterator[Pipeline]:
    """The pipeline over the same store and engine, with no webhooks: the provider tells nobody."""
    async with pipeline(env) as p:
        yield p


@pytest.fixture
async def hooked(env: PipelineSettings, receiver: str) -> AsyncIterator[Pipeline]:
    """The same, with each request's webhook pointing at the receiver."""
    async with pipeline(env, webhook_base=receiver) as p:
        yield p


async def submit_example(ctx: Pipeline, tmp_path: Path, name: str) -> str:
    """Ingest one of the shipped example recordings and submit it; the request's id."""
    from connectors.recordings import scan_folder
    from flows import tasks
    from flows.ingest import register

    folder = tmp_path / "calls"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    (ingested,) = await register(ctx, [i for i in scan_folder(folder) if i.file_name == name])
    assert ingested.registration is not None
    assert await tasks.submit_pending(ctx) == {"submitted": 1}
    return ingested.registration.requests[0].id


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 120, what: str = "") -> T:
    """Await ``probe()`` until it returns something truthy; fail with ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        got = await probe()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.5)


async def events_named(name: str, since: float) -> list[dict[str, Any]]:
    """Events of that name the server has stored since ``since`` (epoch seconds)."""
    from datetime import UTC, datetime

    from prefect.settings import PREFECT_API_URL

    body = {
        "filter": {
            "event": {"name": [name]},
            "occurred": {"since": datetime.fromtimestamp(since, UTC).isoformat()},
        },
        "limit": 50,
    }
    found: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=str(PREFECT_API_URL.value()), timeout=30) as http:
        page = (await http.post("/events/filter", json=body)).raise_for_status().json()
        found += page["events"]
        while page.get("next_page"):
            page = (await http.get(page["next_page"])).raise_for_status().json()
            found += page["events"]
    return found


async def runs_of(deployment: str) -> list[Any]:
    """Flow runs of ``flow/deployment`` (e.g. ``callscope-fetch/fetch``)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async with get_client() as client:
        dep = await client.read_deployment_by_name(deployment)
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])), limit=200
        )
