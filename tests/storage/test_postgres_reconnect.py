"""PostgreSQL without a pre-ping per transaction: a connection the server dropped costs one transient error, and the
next call works on a fresh connection."""

from __future__ import annotations

import uuid

import pytest

from storage import open_repository
from storage.errors import TransientStorageError

pytestmark = pytest.mark.slow


async def test_dropped_connections_are_transient_then_replaced(pg_dsn: str) -> None:
    import psycopg

    db = f"reconnect_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db}"')
    url = pg_dsn.rsplit("/", 1)[0] + "/" + db
    async with open_repository(url) as repo:
        assert await repo.active_count() == 0  # a pooled connection now exists
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (db,),
            )
        with pytest.raises(TransientStorageError, match="connection"):
            await repo.active_count()
        assert await repo.active_count() == 0
