"""The README's main job as a new user runs it: `callscope run examples` in an empty directory, with no
configuration — the embedded engine, SQLite, Prefect's ephemeral mode — then `callscope status`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import need_engine_extra
from tests.engine.servers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.engine]


def holders(path: Path) -> list[int]:
    """Processes that have ``path`` open."""
    found = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) == str(path) for fd in fd_dir.iterdir()):
                found.append(int(fd_dir.parent.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def test_callscope_run_examples_on_embedded_defaults(tmp_path: Path) -> None:
    need_engine_extra()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLSCOPE_", "PREFECT_API"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "220"}
    cli = [sys.executable, "-m", "flows.cli"]
    first = subprocess.run(
        [*cli, "run", str(ROOT / "examples")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    out = first.stdout + first.stderr
    assert first.returncode == 0, out[-4000:]
    assert out.count("reported") >= 3 and "/reports/" in out
    assert "Budget" in out  # a tracker hit in the sales call
    assert (tmp_path / "callscope.db").exists() and (tmp_path / ".callscope" / "engine" / "engine.db").exists()
    assert holders(tmp_path / ".callscope" / "engine" / "engine.db") == []  # no engine worker outlives the run

    status = subprocess.run([*cli, "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    assert "requests: reported 3" in status.stdout
