"""Screenshots of the Prefect UI for docs/monitoring.md, taken headless with Chromium from a real `callscope serve`.

    .venv/bin/python scripts/monitoring_screenshots.py [--out docs/img]

Starts `callscope serve --with-server` in a scratch directory with the examples as its ingest source and a tight SLA
(CALLSCOPE_SLA_RATIO=0.02, and serve polling for runs every second, so that the SLA check has something to flag
while the short example jobs run), routes SLA breaches to a
custom-webhook notification block (a sink on loopback), triggers the ingest deployment, runs the SLA deployment
while jobs are in flight, waits for every recording to be reported, then photographs the UI's pages with Chromium
(Debian's /usr/bin/chromium, driven by Playwright) and stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = {  # file name → (UI path, what it shows); {placeholders} are filled from the API after the run
    "prefect-runs": ("/runs", "flow runs of the deployments"),
    "prefect-deployments": ("/deployments", "the six deployments with their schedules"),
    "prefect-batch-table": ("/artifacts/artifact/{batch}", "the table artifact of an ingest batch, at its end"),
    "prefect-sla-report": ("/artifacts/artifact/{sla_report}", "the markdown SLA report"),
    "prefect-sla-event": ("/events/event/{breach_day}/{breach}", "a callscope.sla.breached event"),
    "prefect-automations": ("/automations", "the event triggers and the SLA alert automation"),
}


class Sink(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        Sink.received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def wait_for(probe: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not probe():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(1)


async def _flagged() -> int:
    """What the latest SLA report flagged."""
    import re

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        (latest, *_) = await client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["sla-report"]))
        ) or [None]
    found = re.search(r"Flagged: (\d+)", str(latest.data)) if latest else None
    return int(found.group(1)) if found else 0


async def drive(store: str, sink_url: str) -> None:
    """Alerts set up, ingest run, SLA runs while jobs are in flight, then wait for every report."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.deployments import run_deployment

    from deployments.alerts import route_sla_breaches
    from storage import RequestStatus, open_repository

    block = CustomWebhookNotificationBlock(name="ops", url=sink_url, json_data={"text": "{{subject}}\n{{body}}"})
    await block.save("ops-alerts", overwrite=True)
    await route_sla_breaches("custom-webhook/ops-alerts")
    await run_deployment("callscope-ingest/ingest", timeout=120)
    flagged = 0
    deadline = time.monotonic() + 600
    while True:
        async with open_repository(store) as repo:
            counts = await repo.counts_by_status()
        if counts and set(counts) == {RequestStatus.REPORTED}:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"not every recording was reported in 600 s: {counts}")
        if not flagged and any(s in counts for s in (RequestStatus.SCHEDULED, RequestStatus.IN_PROGRESS)):
            await run_deployment("callscope-sla/sla", timeout=120)
            flagged = await _flagged()
        await asyncio.sleep(1)
    print(f"reported: {counts}; SLA check flagged {flagged}")


async def placeholders() -> dict[str, str]:
    """Ids of the artifacts and the event to photograph."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import ArtifactSort
    from prefect.events.filters import EventFilter, EventNameFilter

    async with get_client() as client:
        found = {}
        latest_first = await client.read_artifacts(sort=ArtifactSort.CREATED_DESC, limit=200)
        found["batch"] = next(str(a.id) for a in latest_first if (a.key or "").startswith("batch-"))
        found["sla_report"] = next(str(a.id) for a in latest_first if a.key == "sla-report")
        breaches = EventFilter(event=EventNameFilter(name=["callscope.sla.breached"]))
        page = await client.read_events(filter=breaches, limit=10)  # the client's default (100) is over the cap
        breach = page.events[0]
        found |= {"breach": str(breach.id), "breach_day": breach.occurred.strftime("%Y-%m-%d")}
    return found


def photograph(ui: str, out: Path, ids: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        for name, (path, what) in PAGES.items():
            page.goto(f"{ui}{path.format(**ids)}", wait_until="load")
            page.wait_for_timeout(4000)  # the UI fetches its data after load
            page.screenshot(path=str(out / f"{name}.png"))
            print(f"{out / name}.png: {what}")
        browser.close()


def main() -> int:
    from flows.receiver import free_port

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()

    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="callscope-screens-"))
    port = free_port()
    store = f"sqlite:///{work / 'callscope.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLSCOPE_", "PREFECT_"))}
    env |= {
        "COLUMNS": "200",
        "PREFECT_HOME": str(work / "prefect-client"),
        "CALLSCOPE_STORAGE_URL": store,
        "CALLSCOPE_INGEST_SOURCES": json.dumps([str(ROOT / "examples")]),
        "CALLSCOPE_SLA_RATIO": "0.02",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # serve picks up the SLA run while the short example jobs still run
        "CALLSCOPE_PREFECT_PORT": str(port),
        "CALLSCOPE_ENGINE_PORT": str(free_port()),
        "CALLSCOPE_WEBHOOK_PORT": str(free_port()),
    }
    log_path = work / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", "--with-server"],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "callscope-ingest/ingest" in log_path.read_text(errors="replace"), 300, "callscope serve")
        os.environ.update({k: v for k, v in env.items() if k.startswith("CALLSCOPE_")})
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        asyncio.run(drive(store, f"http://127.0.0.1:{sink.server_address[1]}/notify"))
        wait_for(lambda: Sink.received, 90, "the SLA notification")
        print(f"notification sent by the automation: {Sink.received[0].decode()[:200]}")
        photograph(f"http://127.0.0.1:{port}", args.out, asyncio.run(placeholders()))
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(120)
        sink.shutdown()
    print(f"serve log: {log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
