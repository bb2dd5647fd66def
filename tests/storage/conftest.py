"""One storage URL per backend, each isolated per test, all against real servers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ["sqlite", "postgres", "mongodb", "datastore"]


@pytest.fixture(params=BACKENDS)
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store on the named backend."""
    backend = request.param
    name = f"t{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'callscope.db'}"
    elif backend == "postgres":
        psycopg = pytest.importorskip("psycopg", reason="the `postgres` extra is not installed")
        dsn = request.getfixturevalue("pg_dsn")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        yield dsn.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    elif backend == "mongodb":
        pytest.importorskip("pymongo", reason="the `mongodb` extra is not installed")
        uri = request.getfixturevalue("mongo_uri")
        base = uri.split("?", 1)[0].rstrip("/")
        yield f"{base}/{name}"
    else:
        pytest.importorskip("google.cloud.datastore", reason="the `datastore` extra is not installed")
        request.getfixturevalue("datastore_env")
        yield f"datastore://test-project?namespace={name}"
