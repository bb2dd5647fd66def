"""Text-intelligence throughput and worker start-up of the engine.

    .venv/bin/python -m benchmarks.engine.text [--messages 200 1000] [--repeat 3]

Throughput: messages analysed per second by the whole language pipeline (parse, sentiment, insights, five trackers,
topics, entities, summary, analytics) in one loaded worker, against a baseline measured in the same run: only
embedding the same messages once (the model work no analysis can skip). End to end: the same call submitted over
HTTP to a running engine with one worker, until the job completes. Start-up: a fresh process importing and warming
the models, as a worker does.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.engine.calls import SALES_CALL, messages
from tests.engine.servers import EngineProcess
from tests.engine.tracker_corpus import TRACKERS

WARM = "from engine.language.models import Models; Models().warm_up()"


def call(n: int) -> list[tuple[str, str, str]]:
    """``n`` turns: the sales call repeated with a counter so no sentence is a cache hit."""
    return [(u, name, f"{text} (point {i})") for i, (u, name, text) in enumerate((SALES_CALL * (n // 10 + 1))[:n])]


def in_process(n: int, repeat: int) -> tuple[float, float]:
    from engine.language.analyse import analyse, resolve_trackers
    from engine.language.models import Models
    from engine.worker import text_transcript

    models = Models()
    models.warm_up()
    params = {
        "messages": messages(call(n)),
        "trackers": [{"name": k, "vocabulary": v} for k, v in TRACKERS.items()],
        "detectEntities": True,
        "detectPhrases": True,
    }
    start = messages(call(1))[0]["duration"]["startTime"]
    from datetime import datetime

    t0 = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    full, base = [], []
    for r in range(repeat):
        texts = [f"{m['payload']['content']} [{r}]" for m in params["messages"]]
        models._cache.clear()
        began = time.perf_counter()
        models.encode(texts)
        base.append(time.perf_counter() - began)
        models._cache.clear()
        run = {
            **params,
            "messages": [{**m, "payload": {"content": t}} for m, t in zip(params["messages"], texts, strict=True)],
        }
        transcript = text_transcript(run, "1000000000000000", t0)
        began = time.perf_counter()
        analyse(
            models,
            transcript,
            conversation_id="1000000000000000",
            start_time=t0,
            params=run,
            tracker_list=resolve_trackers(run, [], "1000000000000000"),
            tracker_threshold=0.4,
            text_only=True,
        )
        full.append(time.perf_counter() - began)
    return statistics.median(full), statistics.median(base)


def over_http(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        engine = EngineProcess(Path(tmp), workers=1).start()
        try:
            headers = {"Authorization": f"Bearer {engine.token()}"}
            body = {
                "messages": messages(call(n)),
                "trackers": [{"name": k, "vocabulary": v} for k, v in TRACKERS.items()],
            }
            began = time.perf_counter()
            job = httpx.post(engine.url + "/v1/process/text", json=body, headers=headers, timeout=60).json()["jobId"]
            while httpx.get(f"{engine.url}/v1/job/{job}", headers=headers).json()["status"] != "completed":
                time.sleep(0.05)
            return time.perf_counter() - began
        finally:
            engine.stop()


def start_up(repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", WARM], check=True, capture_output=True)
        out.append(time.perf_counter() - began)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| messages | analysis s | msg/s | embed-only baseline s | ratio | over HTTP s | msg/s |")
    print("|---|---|---|---|---|---|---|")
    for n in args.messages:
        full, base = in_process(n, args.repeat)
        http = over_http(n)
        print(f"| {n} | {full:.2f} | {n / full:.0f} | {base:.2f} | {full / base:.1f}× | {http:.2f} | {n / http:.0f} |")
    times = start_up(args.repeat)
    print(f"\nworker start-up (fresh process, import + load + warm-up): {', '.join(f'{t:.1f} s' for t in times)}")


if __name__ == "__main__":
    main()
