"""Datastore's admission shards: they count what is active, and a store that kept the cap in slots is migrated."""

from __future__ import annotations

import pytest

from storage import RequestStatus, open_repository
from tests.storage.test_contract import recording

datastore = pytest.importorskip("google.cloud.datastore", reason="the `datastore` extra is not installed")
from storage.datastore.backend import SHARDS, DatastoreRepository  # noqa: E402

S = RequestStatus
URL = "datastore://test-project?namespace=shards"


def shard_counts(repo: DatastoreRepository) -> dict[int, int]:
    return {e.key.id: e["active"] for e in repo.client.get_multi(repo._shard_keys())}


async def test_shards_split_the_cap_and_count_what_is_active(datastore_env: str) -> None:
    async with open_repository(URL, cap=20) as repo:
        assert isinstance(repo, DatastoreRepository)
        assert sum(repo._capacity(i) for i in range(1, SHARDS + 1)) == 20
        for n in range(25):
            await repo.register(recording(n))
        claimed = await repo.claim(25)
        assert len(claimed) == 20
        counts = shard_counts(repo)
        assert sum(counts.values()) == 20
        assert all(counts[i] <= repo._capacity(i) for i in counts)
        await repo.transition(claimed[0].id, S.SCHEDULED, job_id="j1")  # active → active: same shard, same count
        await repo.release(claimed[1].id, "429")
        await repo.transition(claimed[2].id, S.FAILED, last_error="provider said no")
        assert sum(shard_counts(repo).values()) == 18 == await repo.active_count()


async def test_a_store_with_slot_entities_is_migrated_to_shards(datastore_env: str) -> None:
    """Before the shards, the cap was one ``Slot`` entity per admission with a ``holder``, and each active request
    named its slot; opening such a store counts its active requests into the shards and drops the slots."""
    async with open_repository(URL, cap=3) as repo:
        assert isinstance(repo, DatastoreRepository)
        ids = [(await repo.register(recording(n))).requests[0].id for n in range(5)]
        held = ids[:2]
        client = repo.client
        ents = client.get_multi([client.key("Request", rid) for rid in held])
        for slot, ent in enumerate(ents, start=1):
            ent.update(status=S.SUBMITTING.value, slot=slot)
            ent["data"] = repo._request(ent).model_copy(update={"status": S.SUBMITTING}).model_dump_json()
        slots = [datastore.Entity(client.key("Slot", i)) for i in range(1, 4)]
        for slot, holder in zip(slots, [*held, None], strict=True):
            slot["holder"] = holder
        client.put_multi([*ents, *slots])
        client.delete_multi(repo._shard_keys())

    async with open_repository(URL, cap=3) as repo:
        assert isinstance(repo, DatastoreRepository)
        assert sum(shard_counts(repo).values()) == 2
        assert list(repo.client.query(kind="Slot").fetch()) == []
        migrated = repo.client.get_multi([repo.client.key("Request", rid) for rid in held])
        assert all("slot" not in e and e["shard"] for e in migrated)
        assert len(await repo.claim(5)) == 1  # cap 3, two already active
        await repo.transition(held[0], S.COMPLETED)
        assert len(await repo.claim(5)) == 1
        assert await repo.active_count() == 3
