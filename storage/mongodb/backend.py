"""MongoDB through PyMongo's ``AsyncMongoClient``. Claims and registrations are multi-document transactions
(MongoDB needs a replica set or sharded cluster for them; a standalone mongod refuses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from storage.errors import InvalidInput, MissingExtra, TransientStorageError
from storage.models import (
    ACTIVE,
    BusinessUX,
    Experience,
    Intelligence,
    IntelligenceApi,
    Recording,
    Request,
    RequestStatus,
)
from storage.repository import DEFAULT_CAP, Capabilities, Repository, RequestFilter, claimed

try:
    from pymongo import ASCENDING, AsyncMongoClient, UpdateOne
    from pymongo.asynchronous.client_session import AsyncClientSession
    from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure
except ImportError as exc:  # pragma: no cover - exercised through the registry's message
    raise MissingExtra("MongoDB storage needs the `mongodb` extra: pip install 'callscope[mongodb]'") from exc

CAPABILITIES = Capabilities(
    name="mongodb",
    atomic_replace=True,
    strict_fifo=True,
    unique_job_ids=True,
    cross_process_claims=True,
    networked=True,
    max_items_per_write=None,
)
SCHEMA_VERSION = 1


def _request_doc(req: Request) -> dict[str, Any]:
    doc = req.model_dump(mode="python")
    doc["_id"] = doc.pop("id")
    doc["status"] = req.status.value
    doc["history"] = [h.model_dump(mode="python") for h in req.history]
    for h in doc["history"]:
        h["status"] = h["status"].value
    return doc


def _from_doc(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return doc


class MongoRepository(Repository):
    """``mongodb://host:port/database`` (database defaults to ``callscope``)."""

    capabilities = CAPABILITIES

    def __init__(self, url: str, *, cap: int = DEFAULT_CAP) -> None:
        super().__init__(url, cap=cap)
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, tz_aware=True)
        db_name = urlsplit(url).path.lstrip("/") or "callscope"
        self.db = self.client[db_name]
        self.recordings = self.db["recordings"]
        self.requests = self.db["requests"]
        self.business_ux = self.db["business_ux"]
        self.experiences = self.db["experiences"]
        self.admission = self.db["admission"]

    def _intel(self, api: IntelligenceApi) -> Any:
        return self.db[f"intelligence_{api.value}"]

    async def _in_transaction(self, callback: Any) -> Any:
        """Run ``callback(session)`` in a transaction, retried on write conflicts."""
        try:
            async with self.client.start_session() as session:
                return await session.with_transaction(callback)
        except ConnectionFailure as exc:
            raise TransientStorageError(f"mongodb: {exc}") from exc
        except OperationFailure as exc:
            if exc.has_error_label("TransientTransactionError"):
                raise TransientStorageError(f"mongodb: {exc}") from exc
            raise

    async def setup(self) -> None:
        await self.recordings.create_index("content_hash", unique=True)
        await self.requests.create_index([("status", ASCENDING), ("requested_at", ASCENDING), ("_id", ASCENDING)])
        await self.requests.create_index("recording_id")
        await self.requests.create_index("conversation_id")
        await self.requests.create_index("webhook_token", unique=True)
        await self.requests.create_index("job_id", unique=True, partialFilterExpression={"job_id": {"$type": "string"}})
        for api in IntelligenceApi:
            await self._intel(api).create_index([("conversation_id", ASCENDING), ("idx", ASCENDING)], unique=True)
        await self.experiences.create_index([("conversation_id", ASCENDING), ("name", ASCENDING)], unique=True)
        await self.admission.update_one(
            {"_id": 1}, {"$setOnInsert": {"claims": 0}, "$max": {"schema_version": SCHEMA_VERSION}}, upsert=True
        )

    async def close(self) -> None:
        await self.client.close()

    async def _insert_registration(self, recording: Recording, requests: list[Request]) -> bool:
        rec = recording.model_dump(mode="python")
        rec["_id"] = rec.pop("id")

        async def txn(session: AsyncClientSession) -> None:
            await self.recordings.insert_one(rec, session=session)
            await self.requests.insert_many([_request_doc(r) for r in requests], session=session)

        try:
            await self._in_transaction(txn)
        except DuplicateKeyError:
            return False
        return True

    async def get_recording(self, recording_id: str) -> Recording | None:
        doc = await self.recordings.find_one({"_id": recording_id})
        return Recording.model_validate(_from_doc(doc)) if doc else None

    async def get_request(self, request_id: str) -> Request | None:
        doc = await self.requests.find_one({"_id": request_id})
        return Request.model_validate(_from_doc(doc)) if doc else None

    async def _cas_request(self, new: Request, expected_version: int) -> bool:
        doc = _request_doc(new)
        try:
            result = await self.requests.replace_one({"_id": new.id, "version": expected_version}, doc)
        except ConnectionFailure as exc:
            raise TransientStorageError(f"mongodb: {exc}") from exc
        except DuplicateKeyError as exc:  # e.g. a job id already recorded on another request
            raise InvalidInput(f"request {new.id}: {exc.details or exc}") from exc
        return result.modified_count == 1

    def _query(self, flt: RequestFilter) -> dict[str, Any]:
        q: dict[str, Any] = {}
        if flt.statuses is not None:
            q["status"] = {"$in": [s.value for s in flt.statuses]}
        q.update(flt.equalities())
        return q

    async def _find_requests(self, flt: RequestFilter, session: AsyncClientSession | None = None) -> list[Request]:
        cursor = self.requests.find(self._query(flt), session=session).sort([("requested_at", 1), ("_id", 1)])
        if flt.limit is not None:
            cursor = cursor.limit(flt.limit)
        return [Request.model_validate(_from_doc(d)) async for d in cursor]

    async def counts_by_status(self) -> dict[RequestStatus, int]:
        pipeline = [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        rows = await (await self.requests.aggregate(pipeline)).to_list(None)
        return {RequestStatus(r["_id"]): int(r["n"]) for r in rows}

    async def _claim(self, limit: int, now: datetime) -> list[Request]:
        async def txn(session: AsyncClientSession) -> list[Request]:
            # Writing the admission document first makes concurrent claimers conflict and retry in turn.
            await self.admission.update_one({"_id": 1}, {"$inc": {"turns": 1}}, session=session)
            active = await self.requests.count_documents(
                {"status": {"$in": [s.value for s in ACTIVE]}}, session=session
            )
            headroom = min(limit, self.cap - active)
            if headroom <= 0:
                return []
            pending = await self._find_requests(
                RequestFilter(statuses=frozenset({RequestStatus.PENDING}), limit=headroom), session=session
            )
            if not pending:
                return []
            out = [req.model_copy(update=claimed(req, now)) for req in pending]
            entry = {"status": RequestStatus.SUBMITTING.value, "at": now, "note": "claimed"}
            ops = [
                UpdateOne(
                    {"_id": r.id, "version": r.version - 1},
                    {
                        "$set": {"status": entry["status"], "updated_at": now, "idempotency_key": r.idempotency_key},
                        "$inc": {"attempts": 1, "version": 1},
                        "$push": {"history": entry},
                    },
                )
                for r in out
            ]
            result = await self.requests.bulk_write(ops, ordered=False, session=session)
            if result.matched_count != len(out):  # cannot happen inside the transaction; abort rather than guess
                raise TransientStorageError(f"mongodb: claim matched {result.matched_count} of {len(out)}")
            return out

        result: list[Request] = await self._in_transaction(txn)
        return result

    async def _replace_items(
        self, conversation_id: str, api: IntelligenceApi, items: list[dict[str, Any]], fetched_at: datetime
    ) -> None:
        coll = self._intel(api)

        async def txn(session: AsyncClientSession) -> None:
            await coll.delete_many({"conversation_id": conversation_id}, session=session)
            if items:
                await coll.insert_many(
                    [
                        {"conversation_id": conversation_id, "idx": i, "item": item, "fetched_at": fetched_at}
                        for i, item in enumerate(items)
                    ],
                    ordered=False,
                    session=session,
                )

        await self._in_transaction(txn)

    async def _get_intelligence(self, conversation_id: str, api: IntelligenceApi | str) -> Intelligence | None:
        api = IntelligenceApi(api)
        docs = await self._intel(api).find({"conversation_id": conversation_id}).sort("idx", 1).to_list(None)
        if not docs:
            return None
        return Intelligence(
            conversation_id=conversation_id, api=api, items=[d["item"] for d in docs], fetched_at=docs[0]["fetched_at"]
        )

    async def _put_business_ux(self, ux: BusinessUX) -> None:
        doc = ux.model_dump()
        await self.business_ux.replace_one({"_id": ux.business_name}, doc, upsert=True)

    async def get_business_ux(self, business_name: str) -> BusinessUX | None:
        doc = await self.business_ux.find_one({"_id": business_name}, projection={"_id": False})
        return BusinessUX.model_validate(doc) if doc else None

    async def _put_experience(self, exp: Experience) -> None:
        await self.experiences.replace_one(
            {"conversation_id": exp.conversation_id, "name": exp.name}, exp.model_dump(), upsert=True
        )

    async def get_experience(self, conversation_id: str, name: str) -> Experience | None:
        doc = await self.experiences.find_one(
            {"conversation_id": conversation_id, "name": name}, projection={"_id": False}
        )
        return Experience.model_validate(doc) if doc else None


def open_repository(url: str, *, cap: int = DEFAULT_CAP) -> MongoRepository:
    return MongoRepository(url, cap=cap)
