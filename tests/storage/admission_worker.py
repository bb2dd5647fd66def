"""A claimer process for the cap-invariant test: random claims, releases and completions against one store."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from storage import RequestStatus, TransientStorageError, open_repository

S = RequestStatus


async def _work(url: str, cap: int, seed: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(seed)
    claims: list[tuple[str, int]] = []
    observed_max = 0
    held: list[str] = []
    transient = 0
    async with open_repository(url, cap=cap) as repo:
        for _ in range(rounds):
            try:
                got = await repo.claim(rng.randint(1, 4))
            except TransientStorageError:
                transient += 1
                continue
            claims += [(r.id, r.attempts) for r in got]
            held += [r.id for r in got]
            observed_max = max(observed_max, await repo.active_count())
            rng.shuffle(held)
            keep = []
            for rid in held:
                roll = rng.random()
                try:
                    if roll < 0.35:
                        await repo.release(rid, "429")
                    elif roll < 0.7:
                        await repo.transition(rid, S.COMPLETED, note=f"round {len(claims)}")
                    else:
                        keep.append(rid)
                except TransientStorageError:  # contention: legal, try again next round
                    transient += 1
                    keep.append(rid)
            held = keep
            await asyncio.sleep(rng.random() * 0.01)
        while held:
            try:
                await repo.release(held[-1], "worker done")
                held.pop()
            except TransientStorageError:
                transient += 1
    return {"claims": claims, "observed_max": observed_max, "transient": transient}


def run(url: str, cap: int, seed: int, rounds: int) -> dict[str, Any]:
    return asyncio.run(_work(url, cap, seed, rounds))
