"""Versioned schema migrations for the SQL backends, applied in order on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from storage.models import utcnow
from storage.sql import tables


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    schema = [
        tables.recordings,
        tables.requests,
        tables.items,
        tables.business_ux,
        tables.experiences,
        tables.admission,
    ]
    tables.SchemaVersion.metadata.create_all(conn, tables=schema, checkfirst=True)
    conn.execute(insert(tables.admission).values(id=1))


MIGRATIONS: list[Migration] = [
    Migration(1, "recordings, requests, intelligence items, business UX, experiences, admission", _v1),
]
LATEST = MIGRATIONS[-1].version


def migrate(conn: Connection) -> int:
    """Apply every migration newer than the database's version; return the version reached.

    The caller holds a lock that serialises concurrent migrators (SQLite BEGIN IMMEDIATE, a PostgreSQL advisory lock).
    """
    tables.schema_version.create(conn, checkfirst=True)
    current = conn.execute(
        select(tables.schema_version.c.version).order_by(tables.schema_version.c.version.desc()).limit(1)
    ).scalar()
    for mig in MIGRATIONS:
        if current is not None and mig.version <= current:
            continue
        mig.apply(conn)
        conn.execute(
            insert(tables.schema_version).values(version=mig.version, description=mig.description, applied_at=utcnow())
        )
    return LATEST
