"""Storage errors, each marked transient (retry with backoff) or terminal (record the reason)."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every storage error. ``transient`` says whether retrying the same call may succeed."""

    transient: bool = False


class TransientStorageError(StorageError):
    """The backend was busy or unreachable; the same call may succeed later."""

    transient = True


class TerminalStorageError(StorageError):
    """Retrying the same call will fail the same way."""


class InvalidInput(TerminalStorageError, ValueError):
    """The input was rejected before anything was written; the message names the field."""


class NotFound(TerminalStorageError, LookupError):
    """No record with that id."""


class IllegalTransition(TerminalStorageError):
    """The status change is not allowed by the request life cycle."""


class StatusConflict(TerminalStorageError):
    """Compare-and-set failed: the request was not in the expected status. Re-read and decide again."""


class MissingExtra(TerminalStorageError, ImportError):
    """The backend's driver is not installed; the message names the extra to install."""
