"""The ``callscope`` command line."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="callscope: conversation intelligence for call recordings.", no_args_is_help=True)
engine_app = typer.Typer(help="The local Symbl-compatible engine.", no_args_is_help=True)
app.add_typer(engine_app, name="engine")
console = Console()

# (extra, import name) pairs that tell which optional parts are installed.
EXTRAS: list[tuple[str, str]] = [
    ("postgres", "psycopg"),
    ("mongodb", "pymongo"),
    ("datastore", "google.cloud.datastore"),
    ("engine", "faster_whisper"),
]
SYSTEM_TOOLS = ["ffmpeg", "sox", "espeak-ng", "java", "chromium"]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@app.command()
def doctor() -> None:
    """Show which optional parts and system tools are installed."""
    table = Table("part", "installed", "how to get it")
    for extra, module in EXTRAS:
        ok = _installed(module)
        table.add_row(
            f"extra [bold]{extra}[/]",
            "yes" if ok else "no",
            "" if ok else escape(f"pip install 'callscope[{extra}]'"),
        )
    for tool in SYSTEM_TOOLS:
        ok = shutil.which(tool) is not None
        table.add_row(f"tool {tool}", "yes" if ok else "no", "" if ok else "make system-deps (as root)")
    console.print(table)


@app.command()
def run(
    path: list[Path] = typer.Argument(
        None,
        help="Folders of recordings (optional manifest.csv/json, trackers.json, business_ux.json). Default: examples",
    ),
    url: list[str] = typer.Option([], "--url", help="A recording URL (repeatable)."),
    s3: list[str] = typer.Option([], "--s3", help="s3://bucket/prefix of recordings (repeatable; `s3` extra)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's and callscope's logs."),
) -> None:
    """Process recordings end to end: ingest → submit → await → fetch → store → report.

    With no provider configured (CALLSCOPE_SYMBL_APP_ID/SECRET or TOKEN), callscope starts its engine on a loopback
    port; state goes to CALLSCOPE_STORAGE_URL (default sqlite:///callscope.db). Exit code 0 only if every recording
    was processed.
    """
    from flows.runner import run_command

    folders = path or ([] if url or s3 else [Path("examples")])
    raise typer.Exit(code=run_command(folders, url, s3, verbose=verbose, console=console))


@app.command()
def status(
    storage_url: str = typer.Option(
        None, help="Storage URL (default: CALLSCOPE_STORAGE_URL or sqlite:///callscope.db)."
    ),
) -> None:
    """Show the stored view: each recording's status, length, speakers, trackers hit and report link."""
    from flows.runner import status_command

    raise typer.Exit(code=status_command(storage_url, console=console))


@app.command()
def serve(
    with_server: bool = typer.Option(
        False, "--with-server", help="Also start a local Prefect server (and stop it last)."
    ),
) -> None:
    """Serve callscope's deployments: ingest, submit, fetch, experience, poll and the SLA check.

    Also starts the engine (unless a provider is configured) and the webhook receiver. Needs a Prefect server:
    PREFECT_API_URL, or --with-server. Schedules and sources: CALLSCOPE_INGEST_SOURCES, CALLSCOPE_*_CRON.
    """
    from deployments.stack import serve_command

    raise typer.Exit(code=serve_command(with_server=with_server, console=console))


@app.command()
def alerts(
    block: str = typer.Argument(..., help="Notification block, <block-type-slug>/<name> (e.g. slack-webhook/ops)."),
) -> None:
    """Send every SLA breach (callscope.sla.breached) to a Prefect notification block, via an automation on the
    server PREFECT_API_URL names. Safe to run again: the automation is updated in place."""
    import asyncio

    from deployments.alerts import UnknownBlock, parse_block, route_sla_breaches

    try:
        parse_block(block)
        automation = asyncio.run(route_sla_breaches(block))
    except (ValueError, UnknownBlock) as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(code=2) from None
    console.print(f"automation {automation}: callscope.sla.breached → {block}")


@engine_app.command("serve")
def engine_serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8177, help="Port to bind."),
    workers: int = typer.Option(1, min=0, help="Worker processes for jobs (0: API only)."),
    data_dir: Path = typer.Option(
        None,
        help="The engine's data (default: CALLSCOPE_ENGINE_DATA_DIR or "
        ".callscope-engine; `callscope run` keeps its engine in .callscope/engine).",
    ),
) -> None:
    """Serve the Symbl-compatible API locally (other settings: CALLSCOPE_ENGINE_* variables)."""
    # The engine is reached only over HTTP: run it as its own program rather than importing it.
    argv = [sys.executable, "-m", "engine", "serve", "--host", host, "--port", str(port), "--workers", str(workers)]
    if data_dir is not None:
        os.environ["CALLSCOPE_ENGINE_DATA_DIR"] = str(data_dir)
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with the engine, no shell


def main() -> None:  # pragma: no cover - console entry for `python -m flows.cli`
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
