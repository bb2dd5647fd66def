"""Google Cloud Datastore through google-cloud-datastore. The client blocks, so every call runs in a worker thread.

The cap is split over ``SHARDS`` admission counter entities (shard *i* holds its share of the cap and how many of
its admissions are active). A claim reads the counters, picks shards with headroom at random and, in one transaction,
re-reads them with the chosen pending requests, admits what still fits and writes both; a move out of the active
states decrements the request's shard in the same transaction. Counters always match the active requests, so active
requests never outnumber the cap, and concurrent claimers mostly touch different shards. (One hot admission entity
would serialise them: Datastore's pessimistic locks made 8 concurrent read-modify-write transactions on one entity
time out after 2 s each on the emulator.) An API's intelligence items are written in batches under a
per-conversation header entity, which is written last; a reader may see a half-replaced set while a replace runs
(``atomic_replace`` is False), and re-running the replace repairs it.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

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
    from google.api_core import exceptions as gexc
    from google.cloud import datastore
except ImportError as exc:  # pragma: no cover - exercised through the registry's message
    raise MissingExtra("Datastore storage needs the `datastore` extra: pip install 'callscope[datastore]'") from exc

BATCH = 500
SPREAD = 4
SHARDS = 16
SHARD_KIND = "AdmissionShard"
CAPABILITIES = Capabilities(
    name="datastore",
    atomic_replace=False,
    strict_fifo=False,
    unique_job_ids=False,
    cross_process_claims=True,
    networked=True,
    max_items_per_write=BATCH,
)
TXN_RETRIES = 30
R = TypeVar("R")
TRANSIENT = (
    gexc.Aborted,
    gexc.Conflict,
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.TooManyRequests,
)
INDEXED_REQUEST_FIELDS = (
    "status",
    "requested_at",
    "job_id",
    "conversation_id",
    "recording_id",
    "version",
)


def _retrying(fn: Callable[[], R]) -> R:
    """Run ``fn`` (usually a transaction) again on contention or outages, with jittered backoff."""
    for attempt in range(TXN_RETRIES):
        try:
            return fn()
        except TRANSIENT as exc:
            if attempt == TXN_RETRIES - 1:
                raise TransientStorageError(f"datastore: {exc}") from exc
            time.sleep(min(1.0, 0.01 * 2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


class DatastoreRepository(Repository):
    """``datastore://<project>[?namespace=<ns>]``; under ``DATASTORE_EMULATOR_HOST`` it talks to the emulator."""

    capabilities = CAPABILITIES

    def __init__(self, url: str, *, cap: int = DEFAULT_CAP) -> None:
        super().__init__(url, cap=cap)
        parts = urlsplit(url)
        if not parts.netloc:
            raise InvalidInput("datastore URL needs a project: datastore://<project>[?namespace=<ns>]")
        namespace = parse_qs(parts.query).get("namespace", [None])[0]
        self.client = datastore.Client(project=parts.netloc, namespace=namespace)

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        return await asyncio.to_thread(functools.partial(_retrying, functools.partial(fn, *args)))

    # ---- entities -----------------------------------------------------------------------------------------
    def _request_entity(self, req: Request) -> datastore.Entity:
        ent = datastore.Entity(self.client.key("Request", req.id), exclude_from_indexes=("data", "shard"))
        ent.update({f: getattr(req, f) for f in INDEXED_REQUEST_FIELDS})
        ent["status"] = req.status.value
        ent["data"] = req.model_dump_json()
        return ent

    @staticmethod
    def _request(ent: Any) -> Request:
        return Request.model_validate_json(ent["data"])

    def _blob(self, kind: str, name: str, model: Any) -> datastore.Entity:
        ent = datastore.Entity(self.client.key(kind, name), exclude_from_indexes=("data",))
        ent["data"] = model.model_dump_json()
        return ent

    # ---- interface ----------------------------------------------------------------------------------------
    def _shard_key(self, shard: int) -> Any:
        return self.client.key(SHARD_KIND, shard)  # 1 … SHARDS (ids start at 1 in Datastore)

    def _shard_keys(self) -> list[Any]:
        return [self._shard_key(i) for i in range(1, SHARDS + 1)]

    def _capacity(self, shard: int) -> int:
        """Shard ``shard``'s share of the cap: the cap split evenly, the remainder to the lowest ids."""
        return self.cap // SHARDS + (1 if shard <= self.cap % SHARDS else 0)

    async def setup(self) -> None:
        """Create the admission shards once, counting the requests already active (so a store written before the
        shards, which kept one ``Slot`` entity per admission, is migrated: its active requests are spread over the
        shards and its slots removed)."""
        keys = self._shard_keys()

        def create_shards() -> None:
            if len(self.client.get_multi(keys)) == SHARDS:
                return
            query = self.client.query(kind="Request")
            query.add_filter(filter=datastore.query.PropertyFilter("status", "IN", sorted(s.value for s in ACTIVE)))
            query.keys_only()
            active_keys = [e.key for e in query.fetch()]
            with self.client.transaction():
                if len(self.client.get_multi(keys)) == SHARDS:
                    return  # another process got here first
                shards = [datastore.Entity(k) for k in keys]
                for shard in shards:
                    shard["active"] = 0
                held = [e for e in self.client.get_multi(active_keys) if e["status"] in {s.value for s in ACTIVE}]
                for i, ent in enumerate(held):
                    shard = shards[i % SHARDS]
                    shard["active"] += 1
                    ent["shard"] = shard.key.id
                    ent.exclude_from_indexes.add("shard")
                    ent.pop("slot", None)
                self.client.put_multi([*shards, *held])
            query = self.client.query(kind="Slot")
            query.keys_only()
            self.client.delete_multi([e.key for e in query.fetch()])

        await self._run(create_shards)

    async def close(self) -> None:
        self.client.close()

    async def _insert_registration(self, recording: Recording, requests: list[Request]) -> bool:
        def txn() -> bool:
            with self.client.transaction():
                key = self.client.key("Recording", recording.id)
                if self.client.get(key) is not None:
                    return False
                self.client.put_multi(
                    [self._blob("Recording", recording.id, recording), *(self._request_entity(r) for r in requests)]
                )
                return True

        return await self._run(txn)

    async def get_recording(self, recording_id: str) -> Recording | None:
        ent = await self._run(self.client.get, self.client.key("Recording", recording_id))
        return Recording.model_validate_json(ent["data"]) if ent else None

    async def get_request(self, request_id: str) -> Request | None:
        ent = await self._run(self.client.get, self.client.key("Request", request_id))
        return self._request(ent) if ent else None

    async def _cas_request(self, new: Request, expected_version: int) -> bool:
        def txn() -> bool:
            with self.client.transaction():
                ent = self.client.get(self.client.key("Request", new.id))
                if ent is None or ent["version"] != expected_version:
                    return False
                out = self._request_entity(new)
                shard = ent.get("shard")
                if shard is not None and new.status in ACTIVE:
                    out["shard"] = shard
                elif shard is not None:  # leaving the active states: its shard has room again
                    counter = self.client.get(self._shard_key(shard))
                    counter["active"] = max(0, int(counter["active"]) - 1)
                    self.client.put(counter)
                self.client.put(out)
                return True

        return await self._run(txn)

    def _query(self, flt: RequestFilter) -> Any:
        query = self.client.query(kind="Request")
        if flt.statuses is not None:
            values = sorted(s.value for s in flt.statuses)
            if len(values) == 1:
                query.add_filter(filter=datastore.query.PropertyFilter("status", "=", values[0]))
            else:
                query.add_filter(filter=datastore.query.PropertyFilter("status", "IN", values))
        for name, value in flt.equalities().items():
            query.add_filter(filter=datastore.query.PropertyFilter(name, "=", value))
        query.order = ["requested_at", "__key__"]
        return query

    def _fetch(self, flt: RequestFilter) -> list[Request]:
        return [self._request(e) for e in self._query(flt).fetch(limit=flt.limit)]

    async def _find_requests(self, flt: RequestFilter) -> list[Request]:
        return await self._run(self._fetch, flt)

    def _count(self, statuses: list[str]) -> int:
        query = self.client.query(kind="Request")
        query.add_filter(filter=datastore.query.PropertyFilter("status", "IN", statuses))
        result = list(self.client.aggregation_query(query).count(alias="n").fetch())
        return int(result[0][0].value) if result and result[0] else 0

    async def counts_by_status(self) -> dict[RequestStatus, int]:
        def counts() -> dict[RequestStatus, int]:
            found = {s: self._count([s.value]) for s in RequestStatus}
            return {s: n for s, n in found.items() if n}

        return await self._run(counts)

    async def _claim(self, limit: int, now: datetime) -> list[Request]:
        attempts = itertools.count()

        def oldest_pending(n: int) -> list[str]:
            query = self._query(RequestFilter(statuses=frozenset({RequestStatus.PENDING})))
            query.keys_only()
            return [e.key.name for e in query.fetch(limit=n)]  # oldest first

        def admit(shard_ids: list[int], request_ids: list[str]) -> list[Request]:
            """Admit what still fits in the shards, atomically; what was taken meanwhile is skipped."""
            with self.client.transaction():
                keys = [*map(self._shard_key, shard_ids), *(self.client.key("Request", rid) for rid in request_ids)]
                found = self.client.get_multi(keys)  # one lookup for both kinds
                shards = [e for e in found if e.key.kind == SHARD_KIND]
                requests = [self._request(e) for e in found if e.key.kind == "Request"]
                pending = [r for r in requests if r.status == RequestStatus.PENDING]
                queue = iter(sorted(pending, key=lambda r: (r.requested_at, r.id)))
                out, writes = [], []
                for shard in shards:
                    room = self._capacity(shard.key.id) - int(shard["active"])
                    admitted = list(itertools.islice(queue, max(room, 0)))
                    for req in admitted:
                        new = req.model_copy(update=claimed(req, now))
                        ent = self._request_entity(new)
                        ent["shard"] = shard.key.id
                        out.append(new)
                        writes.append(ent)
                    if admitted:  # a shard that took nothing is left unwritten
                        shard["active"] += len(admitted)
                        writes.append(shard)
                self.client.put_multi(writes)
                return out

        def claim() -> list[Request]:
            # A first attempt takes exactly the oldest. After a conflict (a concurrent claimer took the same requests
            # or shard) the retry takes a random `want` from the oldest `SPREAD × want`, so claimers stop queueing on
            # the same entities (each conflict costs a lock wait): oldest-first only approximately under contention.
            spread = 1 if next(attempts) == 0 else SPREAD
            # Two independent reads, made at once: the counters (lookups are strongly consistent) and the window.
            with ThreadPoolExecutor(2) as pool:
                counters_read = pool.submit(self.client.get_multi, self._shard_keys())
                window = pool.submit(oldest_pending, spread * limit).result()
                counters = counters_read.result()
            room = {e.key.id: self._capacity(e.key.id) - int(e["active"]) for e in counters}
            open_shards = [i for i, n in room.items() if n > 0]
            random.shuffle(open_shards)  # concurrent claimers mostly take different shards
            # The counters' sum is checked too, for requests admitted under a higher cap than this process's.
            active = sum(int(e["active"]) for e in counters)
            want = min(limit, self.cap - active, sum(room[i] for i in open_shards), len(window))
            if want <= 0:
                return []
            chosen, total = [], 0
            for i in open_shards:
                if total >= want:
                    break
                chosen.append(i)
                total += room[i]
            window = window[: spread * want]
            pending = [window[i] for i in sorted(random.sample(range(len(window)), want))]
            return admit(chosen, pending)

        return await self._run(claim)

    async def _replace_items(
        self, conversation_id: str, api: IntelligenceApi, items: list[dict[str, Any]], fetched_at: datetime
    ) -> None:
        kind = f"Intel_{api.value}"
        parent = self.client.key("Conversation", conversation_id)

        def write() -> None:
            header_key = self.client.key(kind, "header", parent=parent)
            old = self.client.get(header_key)
            old_n = int(old["count"]) if old else 0
            entities = []
            for i, item in enumerate(items):
                ent = datastore.Entity(self.client.key(kind, i + 1, parent=parent), exclude_from_indexes=("item",))
                ent["item"] = json.dumps(item, separators=(",", ":"))
                entities.append(ent)
            for start in range(0, len(entities), BATCH):
                self.client.put_multi(entities[start : start + BATCH])
            header = datastore.Entity(header_key)
            header.update({"count": len(items), "fetched_at": fetched_at})
            self.client.put(header)
            stale = [self.client.key(kind, i + 1, parent=parent) for i in range(len(items), old_n)]
            for start in range(0, len(stale), BATCH):
                self.client.delete_multi(stale[start : start + BATCH])

        await self._run(write)

    async def _get_intelligence(self, conversation_id: str, api: IntelligenceApi | str) -> Intelligence | None:
        api = IntelligenceApi(api)
        kind = f"Intel_{api.value}"
        parent = self.client.key("Conversation", conversation_id)

        def read() -> Intelligence | None:
            header = self.client.get(self.client.key(kind, "header", parent=parent))
            if header is None:
                return None
            keys = [self.client.key(kind, i + 1, parent=parent) for i in range(int(header["count"]))]
            by_id: dict[int, Any] = {}
            for start in range(0, len(keys), 1000):
                for ent in self.client.get_multi(keys[start : start + 1000]):
                    by_id[ent.key.id] = json.loads(ent["item"])
            return Intelligence(
                conversation_id=conversation_id,
                api=api,
                items=[by_id[i + 1] for i in range(len(keys)) if i + 1 in by_id],
                fetched_at=header["fetched_at"],
            )

        return await self._run(read)

    async def _put_business_ux(self, ux: BusinessUX) -> None:
        await self._run(self.client.put, self._blob("BusinessUX", ux.business_name, ux))

    async def get_business_ux(self, business_name: str) -> BusinessUX | None:
        ent = await self._run(self.client.get, self.client.key("BusinessUX", business_name))
        return BusinessUX.model_validate_json(ent["data"]) if ent else None

    async def _put_experience(self, exp: Experience) -> None:
        await self._run(self.client.put, self._blob("Experience", f"{exp.conversation_id}/{exp.name}", exp))

    async def get_experience(self, conversation_id: str, name: str) -> Experience | None:
        ent = await self._run(self.client.get, self.client.key("Experience", f"{conversation_id}/{name}"))
        return Experience.model_validate_json(ent["data"]) if ent else None


def open_repository(url: str, *, cap: int = DEFAULT_CAP) -> DatastoreRepository:
    return DatastoreRepository(url, cap=cap)
