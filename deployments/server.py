"""A local Prefect server as a child process (`callscope serve --with-server`, the deployment tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from flows.embedded import answers, die_with_parent, port_free, stop_child, wait_ready
from flows.receiver import free_port


class PrefectServer:
    """``prefect server start`` on loopback: PostgreSQL if ``database_url`` is given, otherwise SQLite under ``home``;
    analytics off. ``with PrefectServer(home) as api_url: ...``"""

    def __init__(self, home: Path, *, port: int = 4200, database_url: str | None = None, start_timeout: float = 120):
        self.home = home
        self.port = port if port_free(port) else free_port()
        self.database_url = database_url
        self.start_timeout = start_timeout
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log_path = home / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        """The environment a client of this server needs (children inherit it)."""
        return {"PREFECT_API_URL": self.api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> str:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PREFECT_HOME": str(self.home.resolve()), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        env["PREFECT_SERVER_UI_API_URL"] = self.api_url  # the UI's default is port 4200, whatever the server's
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
            )
        try:
            wait_ready(
                self.process,
                lambda: answers(f"{self.api_url}/health"),
                self.log_path,
                self.start_timeout,
                "the Prefect server",
            )
        except RuntimeError:
            self.stop()
            raise
        return self.api_url

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGINT, then SIGKILL (a server mid-shutdown may ignore the first for a while)."""
        stop_child(self.process, timeout, (signal.SIGTERM, signal.SIGINT))
