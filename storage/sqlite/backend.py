"""SQLite through SQLModel/SQLAlchemy (aiosqlite): WAL, and BEGIN IMMEDIATE so writers take turns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, event, func
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.errors import InvalidInput
from storage.repository import DEFAULT_CAP, Capabilities
from storage.sql import tables as T
from storage.sql.repository import SqlRepository

CAPABILITIES = Capabilities(
    name="sqlite",
    atomic_replace=True,
    strict_fifo=True,
    unique_job_ids=True,
    cross_process_claims=True,
    networked=False,
    max_items_per_write=None,
)
BUSY_TIMEOUT_MS = 30_000


class SqliteRepository(SqlRepository):
    """``sqlite:///relative.db`` or ``sqlite:////absolute/path.db``. Every transaction is BEGIN IMMEDIATE, so a
    claim (count active, pick the oldest pending, update) runs alone among writers, also across processes."""

    capabilities = CAPABILITIES

    def __init__(self, url: str, *, cap: int = DEFAULT_CAP) -> None:
        super().__init__(url, cap=cap)
        parsed = make_url(url)
        if not parsed.database or parsed.database == ":memory:":
            raise InvalidInput("sqlite storage needs a file path, e.g. sqlite:///callscope.db")
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Transactions always end in COMMIT or ROLLBACK, so the pool need not roll back again on return.
        self.engine = create_async_engine(parsed.set(drivername="sqlite+aiosqlite"), pool_reset_on_return=None)

        @event.listens_for(self.engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let the "begin" hook issue BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(self.engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _random_key(self) -> ColumnElement[Any]:
        return func.lower(func.hex(func.randomblob(16)))

    def _append_history(self, entry_json: str) -> ColumnElement[Any]:
        return func.json_insert(T.requests.c.history, "$[#]", func.json(entry_json))


def open_repository(url: str, *, cap: int = DEFAULT_CAP) -> SqliteRepository:
    return SqliteRepository(url, cap=cap)
