"""`callscope serve`: the deployments served from this process, and with ``--with-server`` everything they need.

Started in this order and stopped in the reverse one (``serve`` and its flow runs before the server): the Prefect
server (PostgreSQL if ``CALLSCOPE_PREFECT_DATABASE_URL`` is set, else SQLite in the work dir), the engine (unless a
provider is configured), the webhook receiver (when the provider can reach it), then the deployments. Flow runs are
child processes of ``serve`` and inherit the environment set here (API URL, provider credentials, webhook URL).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from contextlib import ExitStack
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape

from connectors.symbl import SymblSettings
from flows.embedded import EmbeddedEngine, answers, die_with_parent, port_free, stop_child, wait_ready
from flows.receiver import free_port
from flows.settings import PipelineSettings

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class Receiver:
    """The webhook receiver (deployments/webhook.py) as a child process."""

    def __init__(self, settings: PipelineSettings, env: dict[str, str] | None = None) -> None:
        self.extra_env = env or {}
        self.host = settings.webhook_host
        self.port = settings.webhook_port if port_free(settings.webhook_port) else free_port()
        self.url = f"http://{'127.0.0.1' if self.host in ('0.0.0.0', '::') else self.host}:{self.port}"  # noqa: S104
        self.log_path = settings.work_dir / "webhook.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "deployments.webhook", "--host", self.host, "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cmd,
                env={**os.environ, **self.extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        try:
            wait_ready(self.process, lambda: answers(f"{self.url}/health"), self.log_path, 60, "the webhook receiver")
        except RuntimeError:
            self.__exit__()
            raise
        return self.url

    def __exit__(self, *exc: object) -> None:
        stop_child(self.process, 15)


def serve_command(*, with_server: bool, console: Console) -> int:
    """Serve the deployments until SIGINT/SIGTERM; 2 if something they need could not start."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    settings = PipelineSettings()
    symbl = SymblSettings()
    with ExitStack() as stack:
        try:
            if with_server:
                from deployments.server import PrefectServer

                server = PrefectServer(
                    settings.work_dir / "prefect",
                    port=settings.prefect_port,
                    database_url=settings.prefect_database_url,
                )
                with console.status("starting the Prefect server…"):
                    stack.enter_context(server)
                os.environ.update(server.env())
                console.print(f"Prefect: {server.api_url.removesuffix('/api')} (log: {server.log_path})")
            elif not os.environ.get("PREFECT_API_URL"):
                console.print(
                    "[red]Schedules and event triggers need a Prefect server.[/] Set PREFECT_API_URL, or run "
                    "`callscope serve --with-server` to start one."
                )
                return 2
            if not (symbl.app_id or symbl.token):
                engine = EmbeddedEngine(
                    settings.work_dir / "engine", workers=settings.engine_workers, port=settings.engine_port
                )
                with console.status("starting the engine (loading speech and language models)…"):
                    symbl = stack.enter_context(engine)
                os.environ.update(engine.env)
                console.print(f"provider: callscope engine at {engine.url} (log: {engine.log_path})")
            local_provider = urlsplit(str(symbl.base_url)).hostname in LOOPBACK
            if settings.webhook_public_url or local_provider:
                receiver_url = stack.enter_context(Receiver(settings))
                if not settings.webhook_public_url:
                    os.environ["CALLSCOPE_WEBHOOK_PUBLIC_URL"] = receiver_url
                console.print(
                    f"webhooks: {os.environ.get('CALLSCOPE_WEBHOOK_PUBLIC_URL', receiver_url)}/webhooks/symbl/…"
                )
            else:
                console.print("webhooks: none (no CALLSCOPE_WEBHOOK_PUBLIC_URL); the poll deployment checks jobs")
        except RuntimeError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            return 2
        from prefect import serve
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from deployments.serve import build_deployments

        with temporary_settings({PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
            if settings.sla_alert_block:
                from deployments.alerts import UnknownBlock, route_sla_breaches

                try:
                    asyncio.run(route_sla_breaches(settings.sla_alert_block))
                except UnknownBlock as exc:
                    console.print(f"[red]{escape(str(exc))}[/]")
                    return 2
                console.print(f"SLA breaches: sent to {settings.sla_alert_block}")
            serve(*build_deployments(PipelineSettings()), limit=settings.serve_limit)
    return 0
