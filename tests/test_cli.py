"""The command line: what exists answers, what does not says so."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_doctor_names_the_extra_to_install() -> None:
    result = runner.invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "extra postgres" in result.output
    # Every missing extra is shown with its install command, brackets intact.
    for line in result.output.splitlines():
        if "extra" in line and " no " in line:
            assert "pip install 'callscope[" in line


def test_run_refuses_a_path_that_is_not_a_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nowhere")], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "is not a folder" in result.output
