"""Identifiers in Symbl's formats: 16-digit numeric strings for conversations, trackers and insights; UUIDs for jobs."""

from __future__ import annotations

import hashlib
import secrets
import uuid


def numeric_id() -> str:
    """A random 16-digit numeric id (conversations, trackers)."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def derived_id(*parts: object) -> str:
    """A stable 16-digit numeric id derived from ``parts``: re-analysing a conversation keeps its message ids."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return str(10**15 + int.from_bytes(digest[:8], "big") % (9 * 10**15))


def member_id(*parts: object) -> str:
    """A stable UUID for a conversation member."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "callscope-member:" + ":".join(map(str, parts))))


def job_id() -> str:
    return str(uuid.uuid4())
