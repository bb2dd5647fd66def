"""The report page of a one-hour call: how fast it first renders in headless Chromium, against a one-minute call's
page measured in the same run. The one-hour call goes through a real engine first (per-channel stereo, tiny.en, two
trackers), which also gives the real-time factor and the worker's peak RSS on an hour of audio (memory must not grow
with the recording: it is recognised in windows).

    .venv/bin/python -m benchmarks.engine.report [--minutes 60] [--loads 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from benchmarks.engine.audio import _peak_mb, _reset_peak, _workers, submit_and_wait
from tests.engine.audio import dialogue, make_conversation
from tests.engine.servers import EngineProcess
from tests.engine.test_report import ARGS, CHROMIUM, TRACKERS

QUERY = "enableSeparateRecognitionPerChannel=true&trackers=" + quote(json.dumps(TRACKERS))


def process(engine: EngineProcess, path: Path) -> tuple[str, float, float]:
    """(report URL, job seconds, worker peak RSS MB)."""
    pids = _workers(engine)
    _reset_peak(pids)
    ref, seconds = submit_and_wait(engine, path, QUERY)
    url = httpx.post(
        f"{engine.url}/v1/conversations/{ref['conversationId']}/experiences",
        json={"name": "audio-summary"},
        headers={"Authorization": f"Bearer {engine.token()}"},
    ).json()["url"]
    return url, seconds, _peak_mb(pids)


def loads(url: str, count: int) -> dict[str, float]:
    """Medians over ``count`` fresh page loads (new browser context each, so nothing is cached)."""
    from playwright.sync_api import sync_playwright

    paint, ready, server = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(count):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            began = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            ready.append((time.perf_counter() - began) * 1000)
            paint.append(
                page.evaluate(
                    "performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint').startTime"
                )
            )
            server.append(page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd"))
            context.close()
        browser.close()
    size = len(httpx.get(url).content)
    return {
        "first_paint_ms": statistics.median(paint),
        "waveform_ready_ms": statistics.median(ready),
        "html_received_ms": statistics.median(server),
        "html_kb": size / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        long = make_conversation(folder / "long", dialogue(args.minutes, seed=2), overlap_every=6)
        short = make_conversation(folder / "short", dialogue(1, seed=2), overlap_every=6)
        engine = EngineProcess(folder / "engine", workers=1).start(timeout=600)
        try:
            short_url, short_s, short_rss = process(engine, short.files["stereo"])
            long_url, long_s, long_rss = process(engine, long.files["stereo"])
            print(f"1-min call: job {short_s:.1f} s (RTF {short_s / short.duration:.3f}), peak RSS {short_rss:.0f} MB")
            print(
                f"{args.minutes:g}-min call: job {long_s:.1f} s (RTF {long_s / long.duration:.3f}), "
                f"peak RSS {long_rss:.0f} MB"
            )
            base, big = loads(short_url, args.loads), loads(long_url, args.loads)
        finally:
            engine.stop()
    print("\n| page | first contentful paint ms | waveform ready ms | HTML received ms | HTML KiB |")
    print("|---|---|---|---|---|")
    for name, row in (("1-min call (baseline)", base), (f"{args.minutes:g}-min call", big)):
        print(
            f"| {name} | {row['first_paint_ms']:.0f} | {row['waveform_ready_ms']:.0f} | "
            f"{row['html_received_ms']:.0f} | {row['html_kb']:.0f} |"
        )
    print(f"\nratio, first paint: {big['first_paint_ms'] / base['first_paint_ms']:.2f}×")


if __name__ == "__main__":
    main()
