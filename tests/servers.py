"""Real servers for tests and benchmarks: throwaway PostgreSQL, the MongoDB-wire server, the Datastore emulator.

Each launcher is a context manager that yields a connection string and stops its server on exit. An environment
variable pointing at an existing server replaces each launcher (see ``tests/conftest.py``). A launcher that cannot
start raises :class:`ServerUnavailable` with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
FIRESTORE_JAR = Path("/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")


class ServerUnavailable(RuntimeError):
    """A real server could not be started here; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.1)
    raise ServerUnavailable(f"{what} did not become ready within {timeout:.0f}s (last error: {last!r})")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster from Debian's binaries on a free loopback port; yields its DSN.

    ``initdb`` and ``postgres`` refuse to run as root, so as root the cluster belongs to the ``postgres`` user and
    every command runs through ``runuser``.
    """
    bindir = next((p for p in PG_BIN_CANDIDATES if (p / "initdb").exists()), None)
    if bindir is None:
        raise ServerUnavailable("PostgreSQL binaries not found under /usr/lib/postgresql (apt-get install postgresql)")
    prefix: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="callscope-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise ServerUnavailable("running as root and `runuser` is missing")
        shutil.chown(tmp, user="postgres", group="postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = tmp / "data", free_port()
    log = tmp / "server.log"

    def run(*args: str) -> None:
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ServerUnavailable(f"{Path(args[0]).name} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    try:
        run(
            str(bindir / "initdb"),
            "--no-sync",
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "-D",
            str(data),
        )
        opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "30", "start")
    except ServerUnavailable:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def mongo_wire_server() -> Iterator[str]:
    """SecantusDB (a MongoDB-wire server) in this process, in memory, on a free loopback port; yields its URI."""
    try:
        from secantus import SecantusDBServer
    except ImportError as exc:
        raise ServerUnavailable(f"secantusdb is not installed ({exc}); install the `test` extra") from exc
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=":memory:")
    server.start()
    try:
        yield str(server.uri)
    finally:
        server.stop()


@contextlib.contextmanager
def datastore_emulator() -> Iterator[str]:
    """Google's Firestore emulator in Datastore mode on a free port; yields ``host:port``.

    Started in its own session and stopped by killing the process group: killing only a wrapper leaves java orphaned.
    """
    java = shutil.which("java")
    if java is None or not FIRESTORE_JAR.exists():
        raise ServerUnavailable(f"the Datastore emulator needs java and {FIRESTORE_JAR} (the Google Cloud SDK)")
    port = free_port()
    host = f"127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="callscope-datastore-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [
            java,
            "-Duser.language=en",
            "-cp",
            str(FIRESTORE_JAR),
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
            "--host=127.0.0.1",
            f"--port={port}",
            "--database-mode=datastore-mode",
            "--project_id=test-project",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def ready() -> bool:
        if proc.poll() is not None:
            raise ServerUnavailable(f"the emulator exited with {proc.returncode}: {Path(log.name).read_text()[-500:]}")
        with urllib.request.urlopen(f"http://{host}/", timeout=1) as resp:
            return bool(resp.read().decode().strip() == "Ok")

    try:
        _wait_until(ready, 60, "the Datastore emulator")
        yield host
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
        os.unlink(log.name)


def reset_datastore(host: str) -> None:
    """Empty the emulator (``POST /reset``)."""
    req = urllib.request.Request(f"http://{host}/reset", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
        resp.read()
