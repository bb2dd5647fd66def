"""Fixtures for the pipeline: the corpus, a real engine over HTTP, an S3-compatible server, and fresh stores."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.symbl import SymblSettings
from tests.conftest import unavailable
from tests.engine.servers import APP_ID, APP_SECRET, EngineProcess
from tests.flows.corpus import make_corpus
from tests.servers import free_port


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    missing = [t for t in ("espeak-ng", "sox", "soxi", "ffmpeg") if shutil.which(t) is None]
    if missing:
        unavailable(f"the corpus needs {', '.join(missing)} (make system-deps)")
    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_corpus(folder)


def symbl_settings(engine: EngineProcess) -> SymblSettings:
    return SymblSettings(base_url=engine.url, app_id=APP_ID, app_secret=APP_SECRET)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store: an SQLite file, or a new database on the real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'callscope.db'}"
        return
    psycopg = pytest.importorskip("psycopg", reason="the `postgres` extra is not installed")
    dsn = request.getfixturevalue("pg_dsn")
    name = f"p{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield dsn.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3-compatible server on a free loopback port."""
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError as exc:
        unavailable(f"S3 tests need boto3 and moto[server] (the `s3` and `test` extras): {exc}")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                unavailable(f"moto server exited with {proc.returncode}")
            time.sleep(0.2)
    else:
        proc.kill()
        unavailable("moto server did not start in 60 s")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on loopback serving a folder."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
