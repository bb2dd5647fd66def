"""The embedded provider: callscope's engine started as a child process on a free loopback port, with its data in the
work directory so that re-runs find their earlier jobs. The engine is reached only over HTTP."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from connectors.symbl import SymblSettings
from flows.receiver import free_port

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the engine gets SIGTERM when the process that started it dies, even by SIGKILL."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def read_credentials(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip()
    return values


def wait_ready(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], log_path: Path, timeout: float, what: str
) -> None:
    """Wait until ``ready()``; RuntimeError with the log's tail if the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{what} exited with {process.returncode}; its log ends:\n{tail}")
        if ready():
            return
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not become ready in {timeout:.0f}s; see {log_path}")


def stop_child(
    process: subprocess.Popen[bytes] | None, timeout: float, signals: tuple[int, ...] = (signal.SIGTERM,)
) -> None:
    """Ask a child to stop with each signal in turn, ``timeout`` seconds each, then kill it."""
    if process is None or process.poll() is not None:
        return
    for sig in signals:
        process.send_signal(sig)
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait()


def answers(url: str) -> bool:
    """True if GET ``url`` answers 200."""
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


class EmbeddedEngine:
    """``with EmbeddedEngine(data_dir) as symbl_settings: ...``"""

    def __init__(self, data_dir: Path, *, workers: int = 1, port: int = 0, start_timeout: float = 300.0) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.start_timeout = start_timeout
        self.port = port if port and port_free(port) else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "engine.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}
        """CALLSCOPE_SYMBL_* for child processes that talk to this engine (set once started)."""
        self._log_start = 0

    def __enter__(self) -> SymblSettings:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> SymblSettings:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The embedded engine generates its own account and writes it to credentials.env for us to read.
        env = {
            k: v for k, v in os.environ.items() if k not in ("CALLSCOPE_ENGINE_APP_ID", "CALLSCOPE_ENGINE_APP_SECRET")
        }
        env["CALLSCOPE_ENGINE_DATA_DIR"] = str(self.data_dir.resolve())
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        cmd = [sys.executable, "-m", "engine", "serve", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
            )
        try:
            wait_ready(self.process, self._ready, self.log_path, self.start_timeout, "the engine")
        except RuntimeError:
            self.stop()
            raise
        creds = read_credentials(self.data_dir / "credentials.env")
        self.env = {"CALLSCOPE_SYMBL_BASE_URL": self.url, **creds}
        return SymblSettings(
            base_url=self.url,  # type: ignore[arg-type]
            app_id=creds.get("CALLSCOPE_SYMBL_APP_ID"),
            app_secret=creds.get("CALLSCOPE_SYMBL_APP_SECRET"),  # type: ignore[arg-type]
        )

    def _ready(self) -> bool:
        if not (self.data_dir / "credentials.env").exists():
            return False
        ok = answers(f"{self.url}/health")
        if not ok or self.workers == 0:
            return ok
        with self.log_path.open("rb") as fh:  # only this start's lines: the log is appended across runs
            fh.seek(self._log_start)
            return b"ready in" in fh.read()

    def stop(self, timeout: float = 30.0) -> None:
        stop_child(self.process, timeout)
