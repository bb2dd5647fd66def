"""Storage benchmark: the repository against a hand-written bulk write with the same driver, per backend.

    .venv/bin/python -m benchmarks.storage.run [--backends sqlite,postgres,mongodb,datastore] [--repeat 3]

Two workloads: (1) store a one-hour call's intelligence (900 messages with words, 100 insights), replacing what was
there; (2) claim 1,000 pending requests in batches of 50. Each is timed against a hand-written equivalent using the
same driver in the same run; the ratio (repository ÷ baseline, medians of --repeat runs, the contenders' runs
interleaved) is the figure. Claims have two baselines: the naive one (its own small table, no admission
serialisation, so not safe under concurrent claimers) and one with the repository's guarantees, on the repository's
own table, collection or kind (for Datastore an admission counter entity in the claim's transaction).
Servers are started as in the tests (``TEST_PG_DSN``, ``TEST_MONGO_URI``, ``TEST_DATASTORE_HOST`` override them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import IntelligenceApi, open_repository
from storage.models import ACTIVE
from tests.servers import datastore_emulator, mongo_wire_server, postgres_server

MESSAGES, INSIGHTS, CLAIMS, BATCH = 900, 100, 1000, 50
WORDS = [
    "so",
    "the",
    "renewal",
    "price",
    "for",
    "the",
    "premium",
    "plan",
    "would",
    "be",
    "about",
    "forty",
    "dollars",
    "per",
    "seat",
    "next",
    "quarter",
]


def call_intelligence() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A one-hour call in Symbl's shapes: 900 messages of 16 words (verbose), 100 insights."""
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    messages = []
    for i in range(MESSAGES):
        start = 4.0 * i
        words = [
            {
                "word": w,
                "startTime": (t0 + timedelta(seconds=start + 0.2 * j)).isoformat(),
                "endTime": (t0 + timedelta(seconds=start + 0.2 * j + 0.18)).isoformat(),
                "score": 0.93,
                "timeOffset": round(start + 0.2 * j, 2),
                "duration": 0.18,
                "speakerTag": 1 + i % 2,
            }
            for j, w in enumerate(WORDS)
        ]
        messages.append(
            {
                "id": str(4_600_000_000_000_000 + i),
                "text": " ".join(WORDS),
                "from": {"id": str(uuid.UUID(int=i % 2)), "name": f"Speaker {1 + i % 2}"},
                "startTime": words[0]["startTime"],
                "endTime": words[-1]["endTime"],
                "timeOffset": start,
                "duration": 3.4,
                "conversationId": "5815170693595136",
                "phrases": [],
                "sentiment": {"polarity": {"score": 0.1}, "suggested": "neutral"},
                "words": words,
            }
        )
    insights = [
        {
            "id": str(5_000_000_000_000_000 + i),
            "text": "Send the renewal quote by Friday.",
            "type": ("question", "action_item", "follow_up")[i % 3],
            "score": 0.9,
            "messageIds": [messages[i * 9]["id"]],
            "entities": [],
            "phrases": [],
            "from": {"id": "a", "name": "Speaker 1", "userId": "a@example.com"},
            "definitive": True,
        }
        for i in range(INSIGHTS)
    ]
    return messages, insights


async def timed(
    runs: dict[str, tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]] | None]], repeat: int
) -> dict[str, float]:
    """Median seconds of each ``name: (work, reset)``, the runs interleaved (A B C A B C …) so that drift in the
    server (a growing table, a checkpoint, a warming cache) falls on every contender alike; ``reset`` is untimed."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, (fn, reset) in runs.items():
            if reset:
                await reset()
            t = time.perf_counter()
            await fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


# ---- hand-written baselines, one per driver ------------------------------------------------------------------
class SqlBaseline:
    """The repository's driver used directly (aiosqlite / psycopg async) with the same SQL the repository issues:
    DELETE + executemany INSERT for intelligence; count, then one UPDATE … RETURNING (history appended, a random
    idempotency key) per claim batch."""

    def __init__(self, url: str) -> None:
        self.url, self.pg = url, not url.startswith("sqlite")
        self.conn: Any = None

    async def _connect(self) -> Any:
        if self.conn is None:
            if self.pg:
                import psycopg

                self.conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                self.ph, jtype = "%s", "JSONB"
            else:
                import aiosqlite

                self.conn = await aiosqlite.connect(self.url.split("///", 1)[1], isolation_level=None)
                await self.conn.execute("PRAGMA journal_mode=WAL")
                self.ph, jtype = "?", "TEXT"
            await self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS bench_items (conversation_id TEXT, api TEXT, "
                f"idx INTEGER, payload {jtype}, fetched_at TEXT, PRIMARY KEY (conversation_id, api, idx))"
            )
            await self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS bench_requests (id TEXT PRIMARY KEY, status TEXT, "
                f"requested_at TEXT, attempts INTEGER, version INTEGER, updated_at TEXT, "
                f"idempotency_key TEXT, history {jtype})"
            )
            await self.conn.execute(
                "CREATE INDEX IF NOT EXISTS bench_req_ix ON bench_requests (status, requested_at, id)"
            )
        return self.conn

    @contextlib.asynccontextmanager
    async def _tx(self) -> Any:
        conn = await self._connect()
        if self.pg:
            async with conn.transaction():
                yield conn
            return
        await conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")

    async def _many(self, conn: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self.pg:
            async with conn.cursor() as cur:
                await cur.executemany(sql, rows)
        else:
            await conn.executemany(sql, rows)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def store(self, cid: str, sets: list[tuple[str, list[dict[str, Any]]]]) -> None:
        now = datetime.now(UTC).isoformat()
        p = "%s" if self.pg else "?"
        for api, items in sets:
            async with self._tx() as conn:
                await conn.execute(f"DELETE FROM bench_items WHERE conversation_id = {p} AND api = {p}", (cid, api))
                await self._many(
                    conn,
                    f"INSERT INTO bench_items VALUES ({p}, {p}, {p}, {p}, {p})",
                    [(cid, api, i, json.dumps(it), now) for i, it in enumerate(items)],
                )

    async def seed_requests(self) -> None:
        p = "%s" if self.pg else "?"
        first = json.dumps([{"status": "pending", "at": "2026-01-01T00:00:00Z", "note": None}])
        async with self._tx() as conn:
            await conn.execute("DELETE FROM bench_requests")
            await self._many(
                conn,
                f"INSERT INTO bench_requests VALUES ({p}, 'pending', {p}, 0, 0, {p}, NULL, {p})",
                [(f"r{i:05d}", f"2026-01-01T00:00:{i:05d}", "", first) for i in range(CLAIMS)],
            )

    async def claim_all(self, table: str = "bench_requests", guarded: bool = False) -> None:
        """Naive: its own small table, no admission serialisation beyond the transaction. ``guarded``: the same
        claims with the repository's guarantees, on the repository's own ``requests`` table — admission serialised
        as the repository serialises it (BEGIN IMMEDIATE; on PostgreSQL the admission row FOR UPDATE), the full
        history entry and a fresh key per row, every column returned."""
        p = "%s" if self.pg else "?"
        if self.pg:
            key, append, lock = (
                "replace(gen_random_uuid()::text, '-', '')",
                "history || %s::text::jsonb",
                " FOR UPDATE SKIP LOCKED",
            )
        else:
            key, append, lock = "lower(hex(randomblob(16)))", "json_insert(history, '$[#]', json(?))", ""
        active = ", ".join(f"'{s.value}'" for s in ACTIVE)
        for _ in range(CLAIMS // BATCH):
            now = datetime.now(UTC)
            entry = json.dumps(
                {"status": "submitting", "at": now.isoformat().replace("+00:00", "Z"), "note": "claimed"}
            )
            stamp: Any = now.isoformat()  # the naive table keeps text
            if guarded:  # the repository's column: timestamptz, or SQLAlchemy's text format on SQLite
                stamp = now if self.pg else now.strftime("%Y-%m-%d %H:%M:%S.%f")
            async with self._tx() as conn:
                if guarded and self.pg:
                    await conn.execute("SELECT id FROM admission WHERE id = 1 FOR UPDATE")
                cur = await conn.execute(f"SELECT count(*) FROM {table} WHERE status IN ({active})")
                headroom = min(BATCH, CLAIMS - (await cur.fetchone())[0])
                cur = await conn.execute(
                    f"UPDATE {table} SET status = 'submitting', attempts = attempts + 1, version = version + 1, "
                    f"updated_at = {p}, idempotency_key = {key}, history = {append} WHERE id IN (SELECT id FROM "
                    f"{table} WHERE status = 'pending' ORDER BY requested_at, id LIMIT {p}{lock}) RETURNING *",
                    (stamp, f"[{entry}]" if self.pg else entry, headroom),
                )
                rows = await cur.fetchall()
                assert len(rows) == headroom

    async def claim_guarded(self) -> None:
        await self.claim_all("requests", guarded=True)


class MongoBaseline:
    """AsyncMongoClient directly: delete_many + insert_many in a transaction; claims with update_many."""

    def __init__(self, url: str) -> None:
        from pymongo import AsyncMongoClient

        self.client: Any = AsyncMongoClient(url)
        self.db = self.client[url.rsplit("/", 1)[1]]
        self.indexed: set[str] = set()

    async def close(self) -> None:
        await self.client.close()

    async def store(self, cid: str, sets: list[tuple[str, list[dict[str, Any]]]]) -> None:
        now = datetime.now(UTC)
        for api, items in sets:
            coll = self.db[f"bench_{api}"]
            if api not in self.indexed:  # the repository's index, created once, outside the timing's concern
                await coll.create_index([("conversation_id", 1), ("idx", 1)], unique=True)
                self.indexed.add(api)
            async with self.client.start_session() as s, await s.start_transaction():
                await coll.delete_many({"conversation_id": cid}, session=s)
                await coll.insert_many(
                    [{"conversation_id": cid, "idx": i, "item": it, "fetched_at": now} for i, it in enumerate(items)],
                    ordered=False,
                    session=s,
                )

    async def seed_requests(self) -> None:
        coll = self.db["bench_requests"]
        await coll.delete_many({})
        await coll.create_index([("status", 1), ("requested_at", 1), ("_id", 1)])
        await coll.insert_many(
            [{"_id": f"r{i:05d}", "status": "pending", "requested_at": i, "attempts": 0} for i in range(CLAIMS)]
        )

    async def claim_all(self) -> None:
        coll = self.db["bench_requests"]
        for _ in range(CLAIMS // BATCH):
            async with self.client.start_session() as s, await s.start_transaction():
                active = await coll.count_documents(
                    {"status": {"$in": ["submitting", "scheduled", "in_progress"]}}, session=s
                )
                ids = [
                    d["_id"]
                    async for d in coll.find({"status": "pending"}, {"_id": 1}, session=s)
                    .sort([("requested_at", 1), ("_id", 1)])
                    .limit(min(BATCH, CLAIMS - active))
                ]
                await coll.update_many(
                    {"_id": {"$in": ids}}, {"$set": {"status": "submitting"}, "$inc": {"attempts": 1}}, session=s
                )

    async def claim_guarded(self) -> None:
        """The same claims with the repository's guarantees, on its own collections: the admission write that makes
        concurrent claimers take turns, the count, the oldest pending documents read whole, and one targeted update
        per document (fresh key, history entry) in the same transaction."""
        from pymongo import UpdateOne

        requests, admission = self.db["requests"], self.db["admission"]
        for _ in range(CLAIMS // BATCH):
            now = datetime.now(UTC)
            entry = {"status": "submitting", "at": now, "note": "claimed"}
            async with self.client.start_session() as s, await s.start_transaction():
                await admission.update_one({"_id": 1}, {"$inc": {"turns": 1}}, session=s)
                active = await requests.count_documents({"status": {"$in": [a.value for a in ACTIVE]}}, session=s)
                docs = (
                    await requests.find({"status": "pending"}, session=s)
                    .sort([("requested_at", 1), ("_id", 1)])
                    .limit(min(BATCH, CLAIMS - active))
                    .to_list(None)
                )
                ops = [
                    UpdateOne(
                        {"_id": d["_id"], "version": d["version"]},
                        {
                            "$set": {"status": "submitting", "updated_at": now, "idempotency_key": uuid.uuid4().hex},
                            "$inc": {"attempts": 1, "version": 1},
                            "$push": {"history": entry},
                        },
                    )
                    for d in docs
                ]
                await requests.bulk_write(ops, ordered=False, session=s)


class DatastoreBaseline:
    """google-cloud-datastore directly: put_multi in batches of 500; claims with query + put_multi."""

    def __init__(self, url: str) -> None:
        from google.cloud import datastore

        self.ds = datastore
        project, _, query = url.split("//", 1)[1].partition("?")
        self.client = datastore.Client(project=project, namespace="bench")
        self.repo_client = datastore.Client(project=project, namespace=query.removeprefix("namespace="))

    async def close(self) -> None:
        self.client.close()
        self.repo_client.close()

    async def store(self, cid: str, sets: list[tuple[str, list[dict[str, Any]]]]) -> None:
        def write() -> None:
            parent = self.client.key("BenchConversation", cid)
            for api, items in sets:
                ents = []
                for i, it in enumerate(items):
                    e = self.ds.Entity(
                        self.client.key(f"Bench_{api}", i + 1, parent=parent), exclude_from_indexes=("item",)
                    )
                    e["item"] = json.dumps(it)
                    ents.append(e)
                for start in range(0, len(ents), 500):
                    self.client.put_multi(ents[start : start + 500])

        await asyncio.to_thread(write)

    async def seed_requests(self) -> None:
        def seed() -> None:
            ents = []
            for i in range(CLAIMS):
                e = self.ds.Entity(self.client.key("BenchRequest", f"r{i:05d}"))
                e.update({"status": "pending", "requested_at": i, "attempts": 0})
                ents.append(e)
            for start in range(0, len(ents), 500):
                self.client.put_multi(ents[start : start + 500])

        await asyncio.to_thread(seed)

    async def claim_all(self) -> None:
        def claim() -> None:
            for _ in range(CLAIMS // BATCH):
                q = self.client.query(kind="BenchRequest")
                q.add_filter(filter=self.ds.query.PropertyFilter("status", "=", "pending"))
                q.order = ["requested_at"]
                with self.client.transaction():
                    ents = list(q.fetch(limit=BATCH))
                    for e in ents:
                        e["status"], e["attempts"] = "submitting", e["attempts"] + 1
                    self.client.put_multi(ents)

        await asyncio.to_thread(claim)

    async def claim_guarded(self) -> None:
        """Claims that keep the cap, hand-written the simplest way Datastore allows, on the repository's own
        ``Request`` entities (as the SQL and MongoDB guarded baselines use the repository's tables): one admission
        counter entity read and written in the same transaction as the claimed requests, each with a fresh key and
        a history entry in its JSON. Safe, but every claimer contends on that one entity (the repository shards it;
        see RESULTS)."""

        def claim() -> None:
            client = self.repo_client
            counter_key = client.key("BenchAdmission", 1)
            for _ in range(CLAIMS // BATCH):
                stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                q = client.query(kind="Request")
                q.add_filter(filter=self.ds.query.PropertyFilter("status", "=", "pending"))
                q.order = ["requested_at", "__key__"]
                with client.transaction():
                    counter = client.get(counter_key) or self.ds.Entity(counter_key)
                    active = int(counter.get("active", 0))
                    ents = list(q.fetch(limit=min(BATCH, CLAIMS - active)))
                    for e in ents:
                        data = json.loads(e["data"])
                        data.update(
                            status="submitting",
                            attempts=data["attempts"] + 1,
                            version=data["version"] + 1,
                            idempotency_key=uuid.uuid4().hex,
                            updated_at=stamp,
                        )
                        data["history"].append({"status": "submitting", "at": stamp, "note": "claimed"})
                        e.update(status="submitting", version=data["version"], data=json.dumps(data))
                    counter["active"] = active + len(ents)
                    client.put_multi([*ents, counter])

        await asyncio.to_thread(claim)

    async def reset_guarded(self) -> None:
        await asyncio.to_thread(self.repo_client.delete, self.repo_client.key("BenchAdmission", 1))


# ---- the run ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def server(backend: str) -> Iterator[str]:
    name = f"bench{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        path = f"/tmp/{name}.db"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path + suffix)
    elif backend == "postgres":
        with contextlib.ExitStack() as stack:
            yield os.environ.get("TEST_PG_DSN") or stack.enter_context(postgres_server())
    elif backend == "mongodb":
        with contextlib.ExitStack() as stack:
            uri = os.environ.get("TEST_MONGO_URI") or stack.enter_context(mongo_wire_server())
            yield uri.split("?", 1)[0].rstrip("/") + f"/{name}"
    else:
        with contextlib.ExitStack() as stack:
            host = os.environ.get("TEST_DATASTORE_HOST") or stack.enter_context(datastore_emulator())
            os.environ["DATASTORE_EMULATOR_HOST"] = host
            yield f"datastore://test-project?namespace={name}"


async def bench(backend: str, url: str, repeat: int) -> dict[str, float]:
    messages, insights = call_intelligence()
    sets = [("messages", messages), ("action_items", insights)]
    baseline: Any = {
        "sqlite": SqlBaseline,
        "postgres": SqlBaseline,
        "mongodb": MongoBaseline,
        "datastore": DatastoreBaseline,
    }[backend](url)
    async with open_repository(url, cap=CLAIMS) as repo:
        cid = "5815170693595136"

        async def repo_store() -> None:
            for api, items in sets:
                await repo.replace_intelligence(cid, IntelligenceApi(api), items)

        async def base_store() -> None:
            await baseline.store(cid, sets)

        stores = await timed({"repo": (repo_store, None), "base": (base_store, None)}, repeat)
        got = await repo.get_intelligence(cid, "messages")
        assert got is not None and len(got.items) == MESSAGES

        counter = iter(range(1_000_000))

        async def seed_repo() -> None:
            # a fresh namespace of requests for each repetition: register CLAIMS new recordings
            for r in await repo.active_requests():  # free the cap left by the previous repetition
                await repo.transition(r.id, "failed")
            k = next(counter)
            for i in range(CLAIMS):
                await repo.register(
                    {
                        "content_hash": hashlib.sha256(f"{k}-{i}".encode()).hexdigest(),
                        "source_uri": f"file:///{i}.wav",
                        "file_name": f"{i}.wav",
                        "duration_s": 60,
                    }
                )

        async def repo_claims() -> None:
            total = 0
            for _ in range(CLAIMS // BATCH):
                total += len(await repo.claim(BATCH))
            assert total == BATCH * (CLAIMS // BATCH), total

        # Same-guarantees baselines, on the repository's own tables, collections and kinds.
        async def guarded_reset() -> None:
            await seed_repo()
            if isinstance(baseline, DatastoreBaseline):
                await baseline.reset_guarded()

        claims = await timed(
            {
                "repo": (repo_claims, seed_repo),
                "base": (baseline.claim_all, baseline.seed_requests),
                "guarded": (baseline.claim_guarded, guarded_reset),
            },
            repeat,
        )
    await baseline.close()
    return {
        "store_repo": stores["repo"],
        "store_base": stores["base"],
        "claim_repo": claims["repo"],
        "claim_base": claims["base"],
        "claim_guarded": claims["guarded"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres,mongodb,datastore")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        "| backend | store 1 h call: repo s | baseline s | ratio | claim 1,000: repo s | naive baseline s | ratio "
        "| same-guarantees baseline s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        with server(backend) as url:
            r = asyncio.run(bench(backend, url, args.repeat))
        print(
            f"| {backend} | {r['store_repo']:.3f} | {r['store_base']:.3f} | {r['store_repo'] / r['store_base']:.2f}× "
            f"| {r['claim_repo']:.3f} | {r['claim_base']:.3f} | {r['claim_repo'] / r['claim_base']:.2f}× "
            f"| {r['claim_guarded']:.3f} | {r['claim_repo'] / r['claim_guarded']:.2f}× |",
            flush=True,
        )


if __name__ == "__main__":
    main()
