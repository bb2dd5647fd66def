"""Scheduling at scale: how full callscope keeps the provider's slots, against seed 002's literal algorithm.

    .venv/bin/python -m benchmarks.pipeline.run [--recordings 2000] [--cap 50] [--mean-job 4.0]

The engine runs in its BENCHMARK-ONLY latency-model mode (`CALLSCOPE_ENGINE_BENCHMARK_LATENCY_MODEL`): no analysis,
each job completes ``factor`` × its audio length after it is taken. The recordings are WAV headers declaring
60–600 s of audio (no samples), so job times are known and the engine's cost is the API's alone.

* **callscope**: the `callscope run` loop (`flows.run.drive`) in a Prefect flow (ephemeral mode): claims the whole
  headroom on each wake-up, woken at once by the engine's webhooks on a loopback receiver, polling every 5 s.
* **baseline (seed 002, literal)**: one trigger per ingested recording and one per completion webhook; each trigger
  submits the one oldest pending request if active < cap. Same engine, store and receiver.

Figures, from the engine's own job table: slot utilisation (mean active ÷ cap between the first time the cap is
reached and the last submission), makespan ÷ ideal (ideal = max(Σ job time ÷ cap, longest job)), refill latency (k-th
completion → (cap+k)-th submission), and the orchestrator's CPU seconds per recording (this process, drive only).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

RATE = 8000


def header_only_wav(path: Path, frames: int) -> None:
    """A WAV header declaring ``frames`` 16-bit mono samples at 8 kHz, and no data."""
    data = frames * 2
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE * 2, 2, 16)
    path.write_bytes(
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data)
    )


def make_recordings(folder: Path, n: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lengths = []
    for i in range(n):
        frames = int(rng.uniform(60, 600) * RATE) + i  # + i: every file differs, so every hash does
        header_only_wav(folder / f"r{i:05d}.wav", frames)
        lengths.append(frames / RATE)
    return lengths


def engine_jobs(data_dir: Path) -> list[tuple[float, float]]:
    with sqlite3.connect(data_dir / "engine.db") as db:
        return list(db.execute("SELECT created_at, updated_at FROM jobs WHERE status = 'completed' ORDER BY seq"))


def figures(jobs: list[tuple[float, float]], cap: int, job_times: list[float]) -> dict[str, float]:
    starts = sorted(s for s, _ in jobs)
    ends = sorted(e for _, e in jobs)
    events = sorted([(s, 1) for s in starts] + [(e, -1) for e in ends])
    full_at = None
    active, area, last = 0, 0.0, None
    steady_end = starts[-1]
    for t, d in events:
        if full_at is not None and last is not None and t <= steady_end:
            area += active * (t - last)
        active += d
        last = t
        if full_at is None and active >= cap:
            full_at = t
    window = steady_end - (full_at or starts[0])
    refill = [max(0.0, starts[cap + k] - ends[k]) for k in range(len(starts) - cap)]
    makespan = ends[-1] - starts[0]
    ideal = max(sum(job_times) / cap, max(job_times))
    return {
        "utilisation": area / window / cap if window > 0 else float("nan"),
        "makespan_s": makespan,
        "ideal_s": ideal,
        "makespan_ratio": makespan / ideal,
        "refill_p50_s": statistics.median(refill),
        "refill_p95_s": statistics.quantiles(refill, n=20)[-1],
    }


async def drive_callscope(ctx: Any, queue: asyncio.Queue[tuple[str, Any]]) -> None:
    from flows.run import drive
    from storage import RequestStatus

    await drive(ctx, queue, until=RequestStatus.COMPLETED)


async def drive_literal(ctx: Any, queue: asyncio.Queue[tuple[str, Any]], n: int) -> None:
    """Seed 002: each trigger submits the one oldest pending request if there is room."""
    from flows.status import handle_callback
    from flows.submit import submit_pending
    from storage import ACTIVE, RequestStatus

    for _ in range(n):  # one trigger per ingested recording
        await submit_pending(ctx, limit=1)
    while True:
        counts = await ctx.repo.counts_by_status()
        if not any(counts.get(s) for s in (*ACTIVE, RequestStatus.PENDING)):
            return
        token, body = await queue.get()
        await handle_callback(ctx, token, body)
        if body.get("status") == "completed":  # the webhook trigger
            await submit_pending(ctx, limit=1)


def run_one(
    name: str, folder: Path, job_times: list[float], cap: int, factor: float, work: Path, poll: float
) -> dict[str, float]:
    from prefect import flow

    from connectors.recordings import scan_folder
    from flows.context import pipeline
    from flows.ingest import register
    from flows.receiver import loopback_receiver
    from flows.settings import PipelineSettings
    from tests.engine.servers import EngineProcess
    from tests.flows.conftest import symbl_settings

    engine = EngineProcess(
        work / f"engine-{name}", workers=0, max_active_jobs=cap, benchmark_latency_model=factor
    ).start()
    settings = PipelineSettings(
        storage_url=f"sqlite:///{work / f'{name}.db'}",
        work_dir=work,
        cap=cap,
        poll_interval=poll,
        submit_concurrency=16,
    )
    cpu: dict[str, float] = {}
    n = len(job_times)

    @flow(name=f"benchmark-{name}")
    async def bench() -> None:
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        async with (
            loopback_receiver(queue) as hooks,
            pipeline(settings, symbl_settings(engine), webhook_base=hooks) as ctx,
        ):
            await register(ctx, scan_folder(folder))
            started = time.process_time()
            if name == "callscope":
                await drive_callscope(ctx, queue)
            else:
                await drive_literal(ctx, queue, n)
            cpu["drive"] = time.process_time() - started

    try:
        asyncio.run(bench())
        jobs = engine_jobs(engine.data_dir)
    finally:
        engine.stop()
    assert len(jobs) == n, f"{name}: {len(jobs)} of {n} jobs completed"
    return {**figures(jobs, cap, job_times), "cpu_per_recording_ms": 1000 * cpu["drive"] / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=2000)
    parser.add_argument("--cap", type=int, default=50)
    parser.add_argument("--mean-job", type=float, default=4.0, help="mean job time in seconds (sets the factor)")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="callscope's Job API poll interval, s")
    parser.add_argument("--only", choices=["callscope", "baseline"], help="run one side only")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lengths = make_recordings(work / "recordings", args.recordings)
        factor = args.mean_job / statistics.mean(lengths)
        job_times = [factor * x for x in lengths]
        print(
            f"{args.recordings} recordings, cap {args.cap}, factor {factor:.5f} s per audio second, "
            f"mean job {statistics.mean(job_times):.2f} s, ideal makespan "
            f"{max(sum(job_times) / args.cap, max(job_times)):.1f} s"
        )
        for name in [args.only] if args.only else ["callscope", "baseline"]:
            result = run_one(name, work / "recordings", job_times, args.cap, factor, work, args.poll_interval)
            print(
                f"{name:>9}: utilisation {result['utilisation']:.3f}, makespan {result['makespan_s']:.1f} s "
                f"= {result['makespan_ratio']:.3f} × ideal, refill p50 {result['refill_p50_s']:.3f} s "
                f"p95 {result['refill_p95_s']:.3f} s, orchestrator CPU {result['cpu_per_recording_ms']:.1f} "
                "ms/recording",
                flush=True,
            )


if __name__ == "__main__":
    main()
