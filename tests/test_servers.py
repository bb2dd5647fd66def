"""Each real test server answers through the driver callscope uses: a write, then a read back."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_sqlite_file_roundtrip(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as conn:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t VALUES ('a', 'b')")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT v FROM t WHERE k = 'a'").fetchone() == ("b",)
    assert mode == "wal"


def test_postgres_roundtrip_with_psycopg(pg_dsn: str) -> None:
    psycopg = pytest.importorskip("psycopg", reason="the `postgres` extra is not installed")
    table = f"probe_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, body jsonb)")
        conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (1, psycopg.types.json.Jsonb({"x": [1, 2]})))
        row = conn.execute(f"SELECT body, version() FROM {table} WHERE id = 1").fetchone()
        conn.execute(f"DROP TABLE {table}")
    assert row is not None
    assert row[0] == {"x": [1, 2]}
    assert "PostgreSQL" in row[1]


def test_postgres_roundtrip_with_sqlmodel(pg_dsn: str) -> None:
    pytest.importorskip("psycopg", reason="the `postgres` extra is not installed")
    from sqlalchemy import text
    from sqlmodel import create_engine

    engine = create_engine(pg_dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        assert conn.execute(text("SELECT 40 + 2")).scalar_one() == 42
    engine.dispose()


async def test_mongo_wire_roundtrip_with_async_client(mongo_uri: str) -> None:
    pymongo = pytest.importorskip("pymongo", reason="the `mongodb` extra is not installed")
    client = pymongo.AsyncMongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        coll = client["callscope_probe"][f"c{uuid.uuid4().hex[:8]}"]
        await coll.create_index("key", unique=True)
        await coll.insert_one({"key": "rec-1", "status": "pending"})
        updated = await coll.find_one_and_update(
            {"key": "rec-1", "status": "pending"},
            {"$set": {"status": "submitting"}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        assert updated is not None
        assert updated["status"] == "submitting"
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            await coll.insert_one({"key": "rec-1"})
        assert await coll.count_documents({}) == 1
        await coll.drop()
    finally:
        await client.close()


def test_datastore_roundtrip_and_reset(datastore_env: str) -> None:
    datastore = pytest.importorskip("google.cloud.datastore", reason="the `datastore` extra is not installed")
    client = datastore.Client(project="test-project")
    key = client.key("Probe", "rec-1")
    entity = datastore.Entity(key=key)
    entity.update({"status": "pending", "duration_s": 61.5})
    client.put(entity)
    got = client.get(key)
    assert got is not None
    assert got["status"] == "pending"
    assert got["duration_s"] == 61.5
    count = client.aggregation_query(client.query(kind="Probe")).count().fetch()
    assert next(iter(count))[0].value == 1


def test_datastore_is_empty_after_reset(datastore_env: str) -> None:
    datastore = pytest.importorskip("google.cloud.datastore", reason="the `datastore` extra is not installed")
    client = datastore.Client(project="test-project")
    assert list(client.query(kind="Probe").fetch()) == []


def test_prefect_harness_runs_a_flow_and_reads_it_back(prefect_harness: None) -> None:
    from prefect import flow, get_client, task
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    @task
    def double(x: int) -> int:
        return 2 * x

    @flow(name="callscope-probe")
    def probe(n: int) -> list[int]:
        return [f.result() for f in double.map(range(n))]

    state = probe(3, return_state=True)
    assert state.is_completed()
    assert state.result() == [0, 2, 4]

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    assert [r.state_type.value for r in runs] == ["COMPLETED"]


def test_an_unavailable_server_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import unavailable

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unavailable in CI: no jar"):
        unavailable("no jar")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="no jar"):
        unavailable("no jar")
