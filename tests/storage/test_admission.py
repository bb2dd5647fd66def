"""The cap invariant under concurrent claimers in separate processes, on every backend."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import pytest

from storage import RequestStatus, open_repository
from tests.storage import admission_worker

PROCESSES = 8
ROUNDS_EACH = 30  # 240 rounds in all
CAP = 10
PENDING = 400


@pytest.mark.slow
async def test_concurrent_claimers_never_exceed_the_cap_nor_claim_twice(storage_url: str) -> None:
    async with open_repository(storage_url, cap=CAP) as repo:
        for n in range(PENDING):
            await repo.register(
                {
                    "content_hash": hashlib.sha256(f"cap-{n}".encode()).hexdigest(),
                    "source_uri": f"file:///{n}.wav",
                    "file_name": f"{n}.wav",
                    "duration_s": 30.0,
                }
            )

    ctx = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        results = await asyncio.gather(
            *(
                loop.run_in_executor(pool, admission_worker.run, storage_url, CAP, seed, ROUNDS_EACH)
                for seed in range(PROCESSES)
            )
        )

    claims = [c for r in results for c in r["claims"]]
    duplicates = [c for c, n in Counter(map(tuple, claims)).items() if n > 1]
    assert duplicates == [], f"claimed twice: {duplicates[:5]}"
    assert max(r["observed_max"] for r in results) <= CAP
    transient = sum(r["transient"] for r in results)
    assert len(claims) >= 100, f"only {len(claims)} claims ({transient} transient errors): too little contention"

    async with open_repository(storage_url, cap=CAP) as repo:
        assert await repo.active_count() == 0
        every = await repo.list_requests()
        # Each claim bumped exactly one request's attempts: nothing lost, nothing counted twice.
        assert sum(r.attempts for r in every) == len(claims)
        counts = await repo.counts_by_status()
        assert sum(counts.values()) == PENDING
        assert set(counts) <= {RequestStatus.PENDING, RequestStatus.COMPLETED}
