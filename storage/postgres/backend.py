"""PostgreSQL through SQLModel/SQLAlchemy with psycopg 3 (async): claims take turns on the admission row and
pick pending requests with FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, event, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from storage.errors import MissingExtra
from storage.repository import DEFAULT_CAP, Capabilities
from storage.sql import tables as T
from storage.sql.repository import SqlRepository

CAPABILITIES = Capabilities(
    name="postgres",
    atomic_replace=True,
    strict_fifo=True,
    unique_job_ids=True,
    cross_process_claims=True,
    networked=True,
    max_items_per_write=None,
)
SCHEMA_LOCK_KEY = 0x63616C6C  # "call"


class PostgresRepository(SqlRepository):
    """``postgresql://user:password@host:port/db``."""

    capabilities = CAPABILITIES

    def __init__(self, url: str, *, cap: int = DEFAULT_CAP, pool_size: int = 5) -> None:
        super().__init__(url, cap=cap)
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise MissingExtra(
                "PostgreSQL storage needs the `postgres` extra: pip install 'callscope[postgres]'"
            ) from exc
        parsed = make_url(url).set(drivername="postgresql+psycopg")
        # No pre-ping (a round trip per transaction): a connection the server dropped fails its transaction with
        # connection_invalidated, which _tx raises as TransientStorageError, and the caller's retry gets a new one.
        self.engine = create_async_engine(parsed, pool_size=pool_size, max_overflow=10)

        @event.listens_for(self.engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("SET TIME ZONE 'UTC'")  # timestamps in JSON (the claim's rows) come out in UTC
            cur.close()
            dbapi_conn.commit()

    async def _lock_schema(self, conn: AsyncConnection) -> None:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})

    async def _lock_admission(self, conn: AsyncConnection) -> None:
        await conn.execute(select(T.admission.c.id).where(T.admission.c.id == 1).with_for_update())

    def _pending_ids(self, n: ColumnElement[Any]) -> Select[Any]:
        return super()._pending_ids(n).with_for_update(skip_locked=True)

    def _claim_returning(self) -> ColumnElement[Any]:
        """``row_to_json`` of the updated row (timestamps in ISO 8601, in the session's time zone: UTC)."""
        return cast(func.row_to_json(literal_column(T.requests.name)), Text)

    def _random_key(self) -> ColumnElement[Any]:
        return func.replace(cast(func.gen_random_uuid(), Text), "-", "")

    def _append_history(self, entry: ColumnElement[Any]) -> ColumnElement[Any]:
        return T.requests.c.history.op("||")(cast(entry, JSONB))


def open_repository(url: str, *, cap: int = DEFAULT_CAP) -> PostgresRepository:
    return PostgresRepository(url, cap=cap)
