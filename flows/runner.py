"""What `callscope run` and `callscope status` do around the flow: choose the provider (the embedded engine unless
one is configured), show a progress bar per stage, print the summary table, and pick the exit code."""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.symbl import SymblSettings
from flows.ingest import Ingested
from flows.settings import PipelineSettings
from storage import Request, RequestStatus
from storage.registry import redact

S = RequestStatus
# A request has passed a stage once its status is one of these.
STAGES: list[tuple[str, frozenset[RequestStatus]]] = [
    ("submit", frozenset({S.SCHEDULED, S.IN_PROGRESS, S.COMPLETED, S.FETCHED, S.STORED, S.REPORTED})),
    ("transcribe & analyse", frozenset({S.COMPLETED, S.FETCHED, S.STORED, S.REPORTED})),
    ("fetch & store", frozenset({S.STORED, S.REPORTED})),
    ("report", frozenset({S.REPORTED})),
]


def provider_configured(symbl: SymblSettings) -> bool:
    return bool(symbl.app_id or symbl.token)


def run_command(folders: list[Path], urls: list[str], buckets: list[str], *, verbose: bool, console: Console) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect waits 20 s for its ephemeral API server; a first start migrates a new database, which overran that on a
    # busy 2-core machine (CI, 2026-11-30). Set before Prefect is imported: it reads its settings once.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    settings = PipelineSettings()
    symbl = SymblSettings()
    for folder in folders:
        if not folder.is_dir():
            console.print(f"[red]{escape(str(folder))} is not a folder[/]")
            return 2
    from flows.embedded import EmbeddedEngine
    from flows.run import HOOKS, run_flow

    with ExitStack() as stack:
        if provider_configured(symbl):
            console.print(f"provider: {symbl.api_root}")
        else:
            engine = EmbeddedEngine(
                settings.work_dir / "engine", workers=settings.engine_workers, port=settings.engine_port
            )
            with console.status("starting the engine (loading speech and language models)…"):
                try:
                    symbl = stack.enter_context(engine)
                except RuntimeError as exc:
                    console.print(f"[red]{escape(str(exc))}[/]")
                    console.print("Is the engine extra installed? `callscope doctor` shows what is missing.")
                    return 2
            console.print(f"provider: callscope engine at {engine.url} (log: {engine.log_path})")
        console.print(f"storage: {redact(settings.storage_url)}")
        progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
        )
        ingest_bar = progress.add_task("ingest", total=None, note="")
        bars = {name: progress.add_task(name, total=None, note="") for name, _ in STAGES}
        run_ids: set[str] = set()

        def on_ingested(ingested: list[Ingested]) -> None:
            rejected = sum(1 for i in ingested if i.registration is None)
            for i in ingested:
                if i.registration is not None:
                    run_ids.update(r.id for r in i.registration.requests)
            note = f"{rejected} rejected" if rejected else ""
            progress.update(ingest_bar, total=len(ingested), completed=len(ingested), note=note)
            for bar in bars.values():
                progress.update(bar, total=len(run_ids))

        def on_tick(counts: Counter[RequestStatus]) -> None:
            failed = counts.get(S.FAILED, 0)
            for name, passed in STAGES:
                done = sum(n for status, n in counts.items() if status in passed)
                progress.update(
                    bars[name], completed=min(done, len(run_ids)), note=f"{failed} failed" if failed else ""
                )

        HOOKS.symbl, HOOKS.settings, HOOKS.on_ingested, HOOKS.on_tick = symbl, settings, on_ingested, on_tick
        with progress:
            rows = asyncio.run(run_flow(folders=[str(f) for f in folders], urls=list(urls), buckets=list(buckets)))
    console.print(summary_table(rows))
    if not provider_configured(SymblSettings()):
        data = settings.work_dir / "engine"
        console.print(
            f"Report links are served by the engine: `callscope engine serve --port {settings.engine_port} "
            f"--data-dir {data}` (or `callscope run` again)."
        )
    ok = bool(rows) and all(r["status"] == S.REPORTED.value for r in rows)
    if not rows:
        console.print("[yellow]no recordings found[/]")
    return 0 if ok else 1


def summary_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="callscope run")
    table.add_column("recording", overflow="fold")
    for name in ("status", "length", "speakers"):
        table.add_column(name, no_wrap=True)
    table.add_column("trackers hit")
    table.add_column("report / reason", overflow="fold", min_width=24)
    for r in rows:
        colour = (
            "green" if r["status"] == S.REPORTED.value else "red" if r["status"] in ("failed", "rejected") else "yellow"
        )
        length = f"{r['duration_s']:.0f} s" if r.get("duration_s") else ""
        table.add_row(
            escape(r["file_name"]),
            f"[{colour}]{r['status']}[/]",
            length,
            "" if r.get("speakers") is None else str(r["speakers"]),
            escape(", ".join(r.get("trackers") or [])),
            escape(r.get("report_url") or r.get("reason") or ""),
        )
    return table


def status_command(storage_url: str | None, *, console: Console) -> int:
    settings = PipelineSettings(storage_url=storage_url) if storage_url else PipelineSettings()

    async def collect() -> tuple[list[dict[str, Any]], Counter[str]]:
        from flows.run import recording_row
        from storage import open_repository

        async with open_repository(settings.storage_url, cap=settings.cap) as repo:
            requests = await repo.list_requests()
            by_recording: dict[str, list[Request]] = {}
            for r in requests:
                by_recording.setdefault(r.recording_id, []).append(r)
            rows = []
            for rid, reqs in by_recording.items():
                rec = await repo.get_recording(rid)
                if rec is not None:
                    rows.append(vars(await recording_row(repo, rec.file_name, rec.duration_s, reqs)))
            return rows, Counter(r.status.value for r in requests)

    rows, counts = asyncio.run(collect())
    table = summary_table(rows)
    table.title = f"callscope status — {redact(settings.storage_url)}"
    console.print(table)
    console.print("requests: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    return 0
