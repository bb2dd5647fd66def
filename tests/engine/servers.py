"""The engine as the tests meet it: ``python -m engine serve`` in its own process group on a free loopback port,
with its own data directory, and a real webhook receiver (uvicorn on another port) that can refuse deliveries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from flows.embedded import die_with_parent
from tests.servers import free_port

APP_ID, APP_SECRET = "engine-test-app", "engine-test-secret"
ROOT = Path(__file__).resolve().parents[2]


class EngineProcess:
    """A real engine: start, stop gracefully, or kill (SIGKILL to the whole group) and start again on the same data."""

    def __init__(self, data_dir: Path, *, workers: int = 1, **env: Any) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CALLSCOPE_ENGINE_DATA_DIR": str(data_dir),
            "CALLSCOPE_ENGINE_APP_ID": APP_ID,
            "CALLSCOPE_ENGINE_APP_SECRET": APP_SECRET,
            "CALLSCOPE_ENGINE_URL_ALLOW_NETWORKS": '["127.0.0.0/8"]',
            "CALLSCOPE_ENGINE_WEBHOOK_BACKOFF_INITIAL": "0.2",
            "CALLSCOPE_ENGINE_WEBHOOK_BACKOFF_MAX": "1",
            **{f"CALLSCOPE_ENGINE_{k.upper()}": str(v) for k, v in env.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "engine.log"

    def start(self, timeout: float = 90.0) -> EngineProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        seen = self.log.stat().st_size if self.log.exists() else 0  # a restart appends to the same log
        cmd = [sys.executable, "-m", "engine", "serve", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # stop() signals the whole group (the API and its workers)
                preexec_fn=die_with_parent,  # and a killed test run takes its engine with it
            )
        deadline = time.monotonic() + timeout
        ready = "ready in" if self.workers else "Application startup complete"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"engine exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            text = self.log.read_bytes()[seen:].decode(errors="replace")
            if ready in text and "Uvicorn running" in text and text.count(ready) >= max(1, self.workers):
                return self
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"engine did not start in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def token(self) -> str:
        response = httpx.post(
            self.url + "/oauth2/token:generate", json={"type": "application", "appId": APP_ID, "appSecret": APP_SECRET}
        )
        response.raise_for_status()
        return str(response.json()["accessToken"])


@dataclass
class Receiver:
    """Records webhook deliveries; ``refuse`` makes the next deliveries answer 503."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    refuse: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def for_job(self, job_id: str) -> list[str]:
        return [c["status"] for c in self.calls if c.get("jobId") == job_id and c.get("accepted")]

    def wait_for(self, job_id: str, status: str, timeout: float = 60.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if status in self.for_job(job_id):
                return self.for_job(job_id)
            time.sleep(0.1)
        raise AssertionError(f"no {status!r} webhook for {job_id}; got {self.for_job(job_id)}")

    def __enter__(self) -> Receiver:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> JSONResponse:
            body = await request.json()
            if self.refuse > 0:
                self.refuse -= 1
                self.calls.append({**body, "accepted": False})
                return JSONResponse({"busy": True}, status_code=503)
            self.calls.append({**body, "accepted": True})
            return JSONResponse({"ok": True})

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
