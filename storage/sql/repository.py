"""The repository over SQLAlchemy's async engine; SQLite and PostgreSQL supply the dialect-specific parts."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.errors import InvalidInput, TransientStorageError
from storage.models import (
    ACTIVE,
    BusinessUX,
    Experience,
    Intelligence,
    IntelligenceApi,
    Recording,
    Request,
    RequestStatus,
    StatusChange,
)
from storage.repository import Repository, RequestFilter
from storage.sql import tables
from storage.sql.migrations import migrate

T = tables


def _recording_row(rec: Recording) -> dict[str, Any]:
    row = rec.model_dump(mode="python", exclude={"metadata"})
    row["speakers"] = [s.model_dump() for s in rec.speakers]
    row["metadata"] = rec.metadata
    return row


def _request_row(req: Request) -> dict[str, Any]:
    row = req.model_dump(mode="python")
    row["status"] = req.status.value
    row["history"] = [h.model_dump(mode="json") for h in req.history]
    return row


def claim_entry(now: datetime) -> str:
    """The ``entry`` parameter of the claim statement: its history entry, as a JSON array of that one entry."""
    return f"[{StatusChange(status=RequestStatus.SUBMITTING, at=now, note='claimed').model_dump_json()}]"


def to_request(row: Any) -> Request:
    """A Request from a result row or a mapping of column name to value."""
    return Request.model_validate(row if isinstance(row, dict) else dict(row._mapping))


class SqlRepository(Repository):
    """Shared SQL implementation. Subclasses create the engine and lock for claims and migrations."""

    engine: AsyncEngine

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        """A transaction; driver errors that a retry may cure become :class:`TransientStorageError`."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise TransientStorageError(f"{self.capabilities.name}: {exc.orig}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise TransientStorageError(f"{self.capabilities.name}: connection lost: {exc.orig}") from exc
            raise

    async def _lock_schema(self, conn: AsyncConnection) -> None:
        """Serialise migrators (default: nothing beyond the transaction)."""

    async def _lock_admission(self, conn: AsyncConnection) -> None:
        """Serialise claimers (default: nothing beyond the transaction)."""

    def _pending_ids(self, n: ColumnElement[Any]) -> Select[Any]:
        """The ids of the ``n`` oldest pending requests (PostgreSQL adds FOR UPDATE SKIP LOCKED)."""
        c = T.requests.c
        return select(c.id).where(c.status == RequestStatus.PENDING.value).order_by(c.requested_at, c.id).limit(n)

    def _random_key(self) -> ColumnElement[Any]:
        """A fresh random hex idempotency key per row, computed by the database."""
        raise NotImplementedError

    def _append_history(self, entry: ColumnElement[Any]) -> ColumnElement[Any]:
        """``history`` with one more entry, given as a JSON array of that one entry in text, computed by the
        database."""
        raise NotImplementedError

    def _claim_returning(self) -> ColumnElement[Any]:
        """Each claimed row as one JSON text with the model's field names, built by the database, which pydantic
        parses in one step (converting 17 columns per row in Python was a third of the claim's time)."""
        raise NotImplementedError

    @functools.cached_property
    def _claim_statement(self) -> Any:
        """The claim's UPDATE … RETURNING, built once (parameters: limit, cap, now, entry). The headroom,
        ``min(limit, cap − active)``, is counted inside the statement: its snapshot is taken after the admission
        lock (or BEGIN IMMEDIATE) is held, so it sees every earlier claim, and the claim costs one round trip."""
        c = T.requests.c
        active = c.status.in_([literal_column(f"'{s.value}'") for s in ACTIVE])  # literal: compiled once, as is
        room = select((bindparam("cap", type_=Integer) - func.count()).label("n")).where(active).subquery("room")
        limit = bindparam("limit", type_=Integer)
        headroom = select(case((room.c.n <= 0, 0), (room.c.n < limit, room.c.n), else_=limit)).scalar_subquery()
        return (
            update(T.requests)
            .where(c.id.in_(self._pending_ids(headroom).scalar_subquery()))
            .values(
                status=RequestStatus.SUBMITTING.value,
                attempts=c.attempts + 1,
                version=c.version + 1,
                updated_at=bindparam("now", type_=c.updated_at.type),
                idempotency_key=self._random_key(),
                history=self._append_history(bindparam("entry", type_=Text)),
            )
            .returning(self._claim_returning())
        )

    async def setup(self) -> None:
        async with self._tx() as conn:
            await self._lock_schema(conn)
            await conn.run_sync(migrate)

    async def close(self) -> None:
        await self.engine.dispose()

    async def _insert_registration(self, recording: Recording, requests: list[Request]) -> bool:
        try:
            async with self._tx() as conn:
                await conn.execute(insert(T.recordings), [_recording_row(recording)])
                await conn.execute(insert(T.requests), [_request_row(r) for r in requests])
        except IntegrityError:
            exists = await self.get_recording(recording.id)
            if exists is None:
                raise
            return False
        return True

    async def get_recording(self, recording_id: str) -> Recording | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(T.recordings).where(T.recordings.c.id == recording_id))).first()
        return Recording.model_validate(dict(row._mapping)) if row else None

    async def get_request(self, request_id: str) -> Request | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(T.requests).where(T.requests.c.id == request_id))).first()
        return to_request(row) if row else None

    async def _cas_request(self, new: Request, expected_version: int) -> bool:
        row = _request_row(new)
        row.pop("id")
        stmt = update(T.requests).where(T.requests.c.id == new.id, T.requests.c.version == expected_version)
        try:
            async with self._tx() as conn:
                result = await conn.execute(stmt.values(**row))
        except IntegrityError as exc:
            raise InvalidInput(f"request {new.id}: {exc.orig}") from exc
        return bool(result.rowcount == 1)

    async def _find_requests(self, flt: RequestFilter) -> list[Request]:
        c = T.requests.c
        stmt = select(T.requests)
        if flt.statuses is not None:
            stmt = stmt.where(c.status.in_([s.value for s in flt.statuses]))
        for name, value in flt.equalities().items():
            stmt = stmt.where(c[name] == value)
        stmt = stmt.order_by(c.requested_at, c.id)
        if flt.limit is not None:
            stmt = stmt.limit(flt.limit)
        async with self._tx() as conn:
            return [to_request(r) for r in await conn.execute(stmt)]

    async def counts_by_status(self) -> dict[RequestStatus, int]:
        stmt = select(T.requests.c.status, func.count()).group_by(T.requests.c.status)
        async with self._tx() as conn:
            return {RequestStatus(s): int(n) for s, n in await conn.execute(stmt)}

    async def _claim(self, limit: int, now: datetime) -> list[Request]:
        """One set-based UPDATE … RETURNING that counts the active requests itself, after the admission lock."""
        async with self._tx() as conn:
            await self._lock_admission(conn)
            params = {"limit": limit, "cap": self.cap, "now": now, "entry": claim_entry(now)}
            rows = (await conn.execute(self._claim_statement, params)).scalars().all()
        return sorted(map(Request.model_validate_json, rows), key=lambda r: (r.requested_at, r.id))

    async def _replace_items(
        self, conversation_id: str, api: IntelligenceApi, items: list[dict[str, Any]], fetched_at: datetime
    ) -> None:
        c = T.items.c
        async with self._tx() as conn:
            await conn.execute(delete(T.items).where(c.conversation_id == conversation_id, c.api == api.value))
            if items:
                await conn.execute(
                    insert(T.items),
                    [
                        {
                            "conversation_id": conversation_id,
                            "api": api.value,
                            "idx": i,
                            "payload": item,
                            "fetched_at": fetched_at,
                        }
                        for i, item in enumerate(items)
                    ],
                )

    async def _get_intelligence(self, conversation_id: str, api: IntelligenceApi | str) -> Intelligence | None:
        api = IntelligenceApi(api)
        c = T.items.c
        stmt = select(c.payload, c.fetched_at).where(c.conversation_id == conversation_id, c.api == api.value)
        async with self._tx() as conn:
            rows = (await conn.execute(stmt.order_by(c.idx))).all()
        if not rows:
            return None
        return Intelligence(conversation_id=conversation_id, api=api, items=[r[0] for r in rows], fetched_at=rows[0][1])

    async def _put_business_ux(self, ux: BusinessUX) -> None:
        async with self._tx() as conn:
            await conn.execute(delete(T.business_ux).where(T.business_ux.c.business_name == ux.business_name))
            await conn.execute(insert(T.business_ux), [ux.model_dump()])

    async def get_business_ux(self, business_name: str) -> BusinessUX | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(select(T.business_ux).where(T.business_ux.c.business_name == business_name))
            ).first()
        return BusinessUX.model_validate(dict(row._mapping)) if row else None

    async def _put_experience(self, exp: Experience) -> None:
        c = T.experiences.c
        async with self._tx() as conn:
            await conn.execute(
                delete(T.experiences).where(c.conversation_id == exp.conversation_id, c.name == exp.name)
            )
            await conn.execute(insert(T.experiences), [exp.model_dump()])

    async def get_experience(self, conversation_id: str, name: str) -> Experience | None:
        c = T.experiences.c
        async with self._tx() as conn:
            row = (
                await conn.execute(select(T.experiences).where(c.conversation_id == conversation_id, c.name == name))
            ).first()
        return Experience.model_validate(dict(row._mapping)) if row else None
