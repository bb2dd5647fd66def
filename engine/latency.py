"""BENCHMARK ONLY — a latency model in place of the workers: every job completes ``factor`` × its audio's length after
it is taken, with no analysis, so that the pipeline's scheduling can be measured at scale. Enabled by the
``benchmark_latency_model`` setting (with ``workers=0``); the conversation API has nothing to answer for such jobs."""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
import wave
from contextlib import closing

import anyio

from engine.db import Job, Store

log = logging.getLogger("callscope.engine.latency")
WORKER = "latency-model"


def audio_seconds(job: Job) -> float:
    """The length a WAV header declares (the data need not be there); 1 s for anything else."""
    try:
        with closing(wave.open(job.media_path or "", "rb")) as w:
            return w.getnframes() / w.getframerate()
    except (OSError, EOFError, wave.Error):
        return 1.0


async def run_latency_model(store: Store, factor: float) -> None:
    log.warning("BENCHMARK latency model: jobs complete after %.4f s per audio second, with no analysis", factor)
    due: list[tuple[float, int, Job]] = []
    while True:
        while (job := await anyio.to_thread.run_sync(store.claim, WORKER, 24 * 3600.0)) is not None:
            heapq.heappush(due, (time.time() + factor * audio_seconds(job), job.seq, job))
        while due and due[0][0] <= time.time():
            _, _, job = heapq.heappop(due)
            await anyio.to_thread.run_sync(store.finish, job, WORKER)
        await asyncio.sleep(0.01)
