"""SQLite through SQLModel/SQLAlchemy (aiosqlite): WAL, and BEGIN IMMEDIATE so writers take turns."""

from __future__ import annotations

import functools
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, ColumnElement, event, func, literal_column
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.errors import InvalidInput, TransientStorageError
from storage.models import Request
from storage.repository import DEFAULT_CAP, Capabilities
from storage.sql import tables as T
from storage.sql.repository import SqlRepository, claim_entry

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

    def _claim_returning(self) -> ColumnElement[Any]:
        """``json_object`` of the columns; timestamps, stored as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``,
        become ISO 8601 UTC."""
        fields: list[Any] = []
        for col in T.requests.c:
            value: Any = col
            if isinstance(col.type, T.UTCDateTime):
                value = func.replace(col, " ", "T").concat("Z")
            elif isinstance(col.type, JSON):
                value = func.json(col)
            fields += [literal_column(f"'{col.key}'"), value]
        return func.json_object(*fields)

    @functools.cached_property
    def _claim_sql(self) -> tuple[str, list[str], dict[str, Any]]:
        """The claim statement compiled once for the driver: (SQL, parameter order, fixed parameters)."""
        update = self._claim_statement.compile(dialect=self.engine.dialect)
        fixed = update.construct_params({"entry": None, "now": None, "limit": None, "cap": None})
        return str(update), list(update.positiontup or []), fixed

    async def _claim(self, limit: int, now: datetime) -> list[Request]:
        """The claim on the driver's own connection: BEGIN IMMEDIATE, UPDATE … RETURNING, COMMIT — three round
        trips to aiosqlite's thread, where SQLAlchemy's adapter made about 24 (cursor, execute, description, fetch
        and close each one), which tripled the claim's time (benchmarks/RESULTS.md)."""
        update_sql, order, fixed = self._claim_sql
        stored_now = T.requests.c.updated_at.type.process_bind_param(now, self.engine.dialect)
        values = {**fixed, "limit": limit, "cap": self.cap, "now": str(stored_now), "entry": claim_entry(now)}
        async with self.engine.connect() as conn:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            try:
                await raw.execute("BEGIN IMMEDIATE")
                try:
                    rows = await raw.execute_fetchall(update_sql, [values[name] for name in order])
                except BaseException:
                    await raw.execute("ROLLBACK")
                    raise
                await raw.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # locked past the busy timeout, disk I/O: worth a retry
                raise TransientStorageError(f"sqlite: {exc}") from exc
        requests = [Request.model_validate_json(row[0]) for row in rows]
        return sorted(requests, key=lambda r: (r.requested_at, r.id))

    def _random_key(self) -> ColumnElement[Any]:
        return func.lower(func.hex(func.randomblob(16)))

    def _append_history(self, entry: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.json_insert(T.requests.c.history, "$[#]", func.json(func.json_extract(entry, "$[0]")))


def open_repository(url: str, *, cap: int = DEFAULT_CAP) -> SqliteRepository:
    return SqliteRepository(url, cap=cap)
