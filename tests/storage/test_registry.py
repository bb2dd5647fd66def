"""The registry resolves URLs to backends and says clearly what is missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from storage import InvalidInput, capabilities_for, open_repository
from storage.registry import redact


@pytest.mark.parametrize(
    ("url", "name", "atomic"),
    [
        ("sqlite:///callscope.db", "sqlite", True),
        ("postgresql://u:p@db:5432/callscope", "postgres", True),
        ("postgresql+psycopg://db/callscope", "postgres", True),
        ("mongodb://db:27017/callscope", "mongodb", True),
        ("datastore://my-project?namespace=prod", "datastore", False),
    ],
)
def test_capabilities_by_url(url: str, name: str, atomic: bool) -> None:
    caps = capabilities_for(url)
    assert caps.name == name
    assert caps.atomic_replace is atomic
    assert caps.cross_process_claims


def test_unknown_scheme_lists_the_supported_ones() -> None:
    with pytest.raises(InvalidInput, match=r"unsupported storage URL scheme 'redis'.*datastore, mongodb"):
        open_repository("redis://localhost/0")


def test_errors_never_show_a_password() -> None:
    assert redact("postgresql://user:s3cret@db/x") == "postgresql://user:***@db/x"
    with pytest.raises(InvalidInput) as info:
        open_repository("oracle://user:s3cret@db/x")
    assert "s3cret" not in str(info.value)


def test_sqlite_needs_a_file() -> None:
    with pytest.raises(InvalidInput, match="file path"):
        open_repository("sqlite:///:memory:")


@pytest.mark.parametrize(
    ("url", "driver", "extra"),
    [
        ("mongodb://db/x", "pymongo", "mongodb"),
        ("postgresql://db/x", "psycopg", "postgres"),
        ("datastore://p", "google.cloud.datastore", "datastore"),
    ],
)
def test_missing_driver_names_the_extra(url: str, driver: str, extra: str) -> None:
    # A fresh interpreter in which the driver cannot be imported (sys.modules[name] = None blocks the import).
    code = (
        f"import sys; sys.modules[{driver!r}] = None\n"
        "from storage import open_repository, MissingExtra\n"
        f"try:\n    open_repository({url!r})\nexcept MissingExtra as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"pip install 'callscope[{extra}]'" in out
