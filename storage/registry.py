"""Resolve a storage URL to its backend: ``sqlite:///…``, ``postgresql://…``, ``mongodb://…/db``,
``datastore://project?namespace=…``."""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from storage.errors import InvalidInput, MissingExtra
from storage.repository import DEFAULT_CAP, Capabilities, Repository

# scheme → (backend module, the extra that installs its driver, the driver's import name)
BACKENDS: dict[str, tuple[str, str | None, str | None]] = {
    "sqlite": ("storage.sqlite.backend", None, None),
    "postgresql": ("storage.postgres.backend", "postgres", "psycopg"),
    "postgres": ("storage.postgres.backend", "postgres", "psycopg"),
    "mongodb": ("storage.mongodb.backend", "mongodb", "pymongo"),
    "datastore": ("storage.datastore.backend", "datastore", "google.cloud.datastore"),
}
DEFAULT_URL = "sqlite:///callscope.db"


def _backend(url: str) -> object:
    scheme = urlsplit(url).scheme.split("+", 1)[0].lower()
    if scheme not in BACKENDS:
        raise InvalidInput(
            f"unsupported storage URL scheme {scheme or '(none)'!r} in {redact(url)}; "
            f"use one of: {', '.join(sorted(set(BACKENDS)))}"
        )
    module, extra, driver = BACKENDS[scheme]
    if driver is not None:
        try:
            importlib.import_module(driver)
        except ImportError as exc:
            raise MissingExtra(
                f"storage {scheme!r} needs the `{extra}` extra ({driver} is not installed): "
                f"pip install 'callscope[{extra}]'"
            ) from exc
    return importlib.import_module(module)


def capabilities_for(url: str) -> Capabilities:
    """The capabilities of the backend a URL selects, without connecting."""
    caps: Capabilities = _backend(url).CAPABILITIES  # type: ignore[attr-defined]
    return caps


def open_repository(url: str = DEFAULT_URL, *, cap: int = DEFAULT_CAP) -> Repository:
    """The repository for ``url`` (not yet set up: use ``async with`` or await ``setup()``)."""
    repo: Repository = _backend(url).open_repository(url, cap=cap)  # type: ignore[attr-defined]
    return repo


def redact(url: str) -> str:
    """The URL with any password replaced (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
