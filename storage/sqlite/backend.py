"""SQLite through SQLModel/SQLAlchemy (aiosqlite): WAL, and BEGIN IMMEDIATE so writers take turns."""

from __future__ import annotations

import functools
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, event, func
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.errors import InvalidInput, TransientStorageError
from storage.models import Request
from storage.repository import DEFAULT_CAP, Capabilities
from storage.sql import tables as T
from storage.sql.repository import SqlRepository, claim_entry, to_request

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

    @functools.cached_property
    def _claim_sql(self) -> tuple[str, str, list[str], dict[str, Any], list[Any], list[str]]:
        """The claim's two statements compiled once for the driver: (count SQL, update SQL, update parameter
        order, the update's fixed parameters, a result processor per returned column, the returned column names)."""
        dialect = self.engine.dialect
        count = self._active_count.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        update = self._claim_statement.compile(dialect=dialect)
        columns = list(T.requests.c)
        processors = [c.type._cached_result_processor(dialect, None) for c in columns]
        order = list(update.positiontup or [])
        fixed = update.construct_params({"entry": None, "now": None, "headroom": None})
        return str(count), str(update), order, fixed, processors, [c.key for c in columns]

    async def _claim(self, limit: int, now: datetime) -> list[Request]:
        """The claim on the driver's own connection: BEGIN IMMEDIATE, count, UPDATE … RETURNING, COMMIT — four
        round trips to aiosqlite's thread, where SQLAlchemy's adapter made about 24 (cursor, execute, description,
        fetch and close each one), which tripled the claim's time (benchmarks/RESULTS.md)."""
        count_sql, update_sql, order, fixed, processors, keys = self._claim_sql
        stored_now = T.requests.c.updated_at.type.process_bind_param(now, self.engine.dialect)
        async with self.engine.connect() as conn:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            try:
                await raw.execute("BEGIN IMMEDIATE")
                try:
                    async with raw.execute(count_sql) as cursor:
                        (active,) = await cursor.fetchone()
                    headroom = min(limit, self.cap - int(active))
                    rows: list[Any] = []
                    if headroom > 0:
                        values = {**fixed, "headroom": headroom, "now": str(stored_now), "entry": claim_entry(now)}
                        async with raw.execute(update_sql, [values[name] for name in order]) as cursor:
                            rows = list(await cursor.fetchall())
                except BaseException:
                    await raw.execute("ROLLBACK")
                    raise
                await raw.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # locked past the busy timeout, disk I/O: worth a retry
                raise TransientStorageError(f"sqlite: {exc}") from exc
        requests = [
            to_request(dict(zip(keys, (p(v) if p else v for p, v in zip(processors, row, strict=True)), strict=True)))
            for row in rows
        ]
        return sorted(requests, key=lambda r: (r.requested_at, r.id))

    def _random_key(self) -> ColumnElement[Any]:
        return func.lower(func.hex(func.randomblob(16)))

    def _append_history(self, entry: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.json_insert(T.requests.c.history, "$[#]", func.json(func.json_extract(entry, "$[0]")))


def open_repository(url: str, *, cap: int = DEFAULT_CAP) -> SqliteRepository:
    return SqliteRepository(url, cap=cap)
