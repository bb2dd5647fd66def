"""``python -m engine serve``: prepare the database and credentials, start the worker processes, serve the API with
uvicorn, and stop the workers when the API stops. Dead workers are restarted."""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import signal
import threading
from multiprocessing.process import BaseProcess

import uvicorn

from engine.api import create_app
from engine.db import Store
from engine.settings import EngineSettings
from engine.worker import worker_main

log = logging.getLogger("callscope.engine")


def prepare(settings: EngineSettings) -> tuple[Store, str]:
    """Create the data directory and schema, register the accounts, and return the store and the signing key."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    store.create_schema()
    key = (
        settings.jwt_secret.get_secret_value()
        if settings.jwt_secret
        else store.meta_value("signing_key", secrets.token_urlsafe(32))
    )
    if settings.app_secret is not None:
        secret = settings.app_secret.get_secret_value()
    else:
        secret = store.meta_value("generated_app_secret", secrets.token_urlsafe(24))
        path = settings.data_dir / "credentials.env"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"CALLSCOPE_SYMBL_APP_ID={settings.app_id}\nCALLSCOPE_SYMBL_APP_SECRET={secret}\n")
        log.info("no app secret configured: generated one, written to %s", path)
    store.set_apps({settings.app_id: secret} | {k: v.get_secret_value() for k, v in settings.extra_apps.items()})
    return store, key


class Workers:
    """The worker processes, kept at ``count`` until stopped."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.processes: dict[int, BaseProcess] = {}
        self.stopped = threading.Event()
        self.monitor = threading.Thread(target=self._watch, daemon=True)

    def _spawn(self, index: int) -> None:
        if self.settings.worker_malloc_arenas:  # read by glibc at process start: set before the worker is started
            os.environ.setdefault("MALLOC_ARENA_MAX", str(self.settings.worker_malloc_arenas))
        process = self.context.Process(target=worker_main, args=(self.settings, index), name=f"engine-worker-{index}")
        process.start()
        self.processes[index] = process

    def start(self) -> None:
        for index in range(self.settings.workers):
            self._spawn(index)
        self.monitor.start()

    def _watch(self) -> None:
        while not self.stopped.wait(2.0):
            for index, process in list(self.processes.items()):
                if not process.is_alive() and not self.stopped.is_set():
                    log.warning("worker %d exited with %s; restarting it", index, process.exitcode)
                    self._spawn(index)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped.set()
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        for process in self.processes.values():
            process.join(timeout)
            if process.is_alive():
                process.kill()


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def serve(settings: EngineSettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    store, key = prepare(settings)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; under the default handler that killed this
    # process before the `finally` below, leaving the workers orphaned. As an exception it unwinds through it.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    workers = Workers(settings)
    workers.start()
    try:
        uvicorn.run(create_app(settings, store, key), host=settings.host, port=settings.port, log_level="info")
    finally:
        workers.stop()
        store.close()
