"""When to retry and how long to wait: one function each."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from connectors.symbl.errors import ConnectionFailed, SymblError, TooManyJobs


def should_retry(error: SymblError, *, idempotent: bool, retry_429: bool = True) -> bool:
    """Retry transient errors. A non-idempotent call (a submission) is retried only when the request surely never
    reached the server (the connection could not be made), so that a job is never submitted twice; a 429 on a
    submission is left to the caller (release the claim, back off)."""
    if not error.transient:
        return False
    if isinstance(error, TooManyJobs):
        return retry_429 and idempotent
    if not idempotent:
        return isinstance(error, ConnectionFailed) and error.before_send
    return True


def retry_delay(attempt: int, *, initial: float, maximum: float, retry_after: str | None = None) -> float:
    """Seconds before retry number ``attempt`` (1-based): Retry-After if the server sent one (seconds or an HTTP
    date), else capped exponential backoff with jitter (between half and all of ``initial × 2^(attempt-1)``)."""
    if retry_after:
        try:
            return min(maximum, max(0.0, float(retry_after)))
        except ValueError:
            try:
                when = parsedate_to_datetime(retry_after)
                return min(maximum, max(0.0, (when - datetime.now(UTC)).total_seconds()))
            except (TypeError, ValueError):
                pass
    base = min(maximum, initial * 2 ** (attempt - 1))
    return base * (0.5 + random.random() / 2)
