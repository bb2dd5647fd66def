"""Session fixtures that start real servers.

Every server can be replaced by an existing one through an environment variable:

==========================  =========================================================
``TEST_PG_DSN``             a PostgreSQL DSN (the tests create their own tables/schemas)
``TEST_MONGO_URI``          a MongoDB URI (a real mongod, or any wire-compatible server)
``TEST_DATASTORE_HOST``     ``host:port`` of a running Datastore/Firestore-in-Datastore-mode emulator
==========================  =========================================================

A fixture that cannot start its server fails the test when ``CI=true`` and otherwise skips it with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, NoReturn

# Before anything imports Prefect: no telemetry (it also causes "database is locked" noise under SQLite).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest

from tests.servers import (
    ServerUnavailable,
    datastore_emulator,
    mongo_wire_server,
    postgres_server,
    reset_datastore,
)

DATASTORE_PROJECT = "test-project"


def unavailable(reason: str) -> NoReturn:
    """Fail loudly in CI, skip with the reason elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required test server unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _start(request: pytest.FixtureRequest, launcher: AbstractContextManager[str]) -> str:
    try:
        value = launcher.__enter__()
    except ServerUnavailable as exc:
        unavailable(str(exc))
    request.addfinalizer(lambda: launcher.__exit__(None, None, None))
    return value


@pytest.fixture(scope="session")
def pg_dsn(request: pytest.FixtureRequest) -> str:
    """DSN of a real PostgreSQL server: ``TEST_PG_DSN`` or a throwaway cluster."""
    return os.environ.get("TEST_PG_DSN") or _start(request, postgres_server())


@pytest.fixture(scope="session")
def mongo_uri(request: pytest.FixtureRequest) -> str:
    """URI of a MongoDB-wire server: ``TEST_MONGO_URI`` or SecantusDB in-process."""
    return os.environ.get("TEST_MONGO_URI") or _start(request, mongo_wire_server())


@pytest.fixture(scope="session")
def datastore_host(request: pytest.FixtureRequest) -> str:
    """``host:port`` of the Datastore emulator: ``TEST_DATASTORE_HOST`` or a fresh emulator."""
    return os.environ.get("TEST_DATASTORE_HOST") or _start(request, datastore_emulator())


@pytest.fixture
def datastore_env(datastore_host: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An emptied emulator (``POST /reset``) with ``DATASTORE_EMULATOR_HOST``/``DATASTORE_PROJECT_ID`` set."""
    reset_datastore(datastore_host)
    monkeypatch.setenv("DATASTORE_EMULATOR_HOST", datastore_host)
    monkeypatch.setenv("DATASTORE_PROJECT_ID", DATASTORE_PROJECT)
    return datastore_host


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness for the whole session: a temporary API server and database.

    Analytics are off and flow-run heartbeats are off (each sync flow run otherwise joins a heartbeat thread that
    sleeps in 1 s steps).
    """
    try:
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
        from prefect.testing.utilities import prefect_test_harness
    except ImportError as exc:
        unavailable(f"prefect is not importable: {exc}")
    settings: dict[Any, Any] = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with temporary_settings(settings), prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def pipeline_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real engine (one worker) that the pipeline and deployment tests submit to, over HTTP on loopback."""
    from tests.engine.conftest import need_engine_extra
    from tests.engine.servers import EngineProcess

    need_engine_extra()
    engine = EngineProcess(tmp_path_factory.mktemp("pipeline-engine"), workers=1).start()
    yield engine
    engine.stop()
