"""One error hierarchy for the Symbl API, mapped from status codes; each error is transient or terminal."""

from __future__ import annotations

from typing import Any


class SymblError(Exception):
    """Base of every client error. Carries the request (method, path), the status and the body's message."""

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
    ) -> None:
        self.message, self.status, self.method, self.path, self.body = message, status, method, path, body
        where = f"{method} {path}" if method and path else (path or "")
        code = f" → {status}" if status is not None else ""
        super().__init__(f"{where}{code}: {message}" if where else message)


class TransientError(SymblError):
    """May succeed if retried later."""

    transient = True


class TerminalError(SymblError):
    """Will fail the same way if retried; record the reason."""


class BadRequest(TerminalError):
    """400: a parameter was rejected; ``message`` is the provider's."""


class Unauthorized(TerminalError):
    """401: the token or credentials were refused (after one renewal)."""


class Forbidden(TerminalError):
    """403."""


class NotFound(TerminalError):
    """404: unknown conversation, job or tracker."""


class Conflict(TerminalError):
    """409: e.g. a tracker with that name exists."""


class PayloadTooLarge(TerminalError):
    """413: the body is too large (trackers: over 1 MB)."""


class TooManyJobs(TransientError):
    """429: the account's cap on concurrent jobs (or in-flight tracker writes) is reached; back off."""


class ServerError(TransientError):
    """5xx."""


class ConnectionFailed(TransientError):
    """The connection could not be made or broke. ``before_send``: the request surely never reached the server."""

    def __init__(self, message: str, *, before_send: bool = False, **kwargs: Any) -> None:
        self.before_send = before_send
        super().__init__(message, **kwargs)


class RequestTimeout(TransientError):
    """No answer in time."""


class MalformedResponse(TransientError):
    """The response body was not the JSON the API documents (a proxy page, a truncated body)."""


class JobFailed(TerminalError):
    """The job ended ``failed``."""

    def __init__(self, job_id: str, status: str = "failed") -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} ended {status}", path=f"/v1/job/{job_id}")


class WaitDeadlineExceeded(TransientError):
    """The wait's deadline passed; the job goes on. Carries the job id and its last status."""

    def __init__(self, job_id: str, last_status: str | None, waited_s: float) -> None:
        self.job_id, self.last_status, self.waited_s = job_id, last_status, waited_s
        super().__init__(
            f"job {job_id} still {last_status or 'unknown'} after {waited_s:.0f}s (the job goes on)",
            path=f"/v1/job/{job_id}",
        )


STATUS_ERRORS: dict[int, type[SymblError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: TooManyJobs,
}


def error_for_status(status: int, message: str, *, method: str, path: str, body: Any = None) -> SymblError:
    """The error class for an HTTP status (5xx → ServerError; other 4xx → TerminalError)."""
    if status == 408:
        cls: type[SymblError] = RequestTimeout
    elif status >= 500:
        cls = ServerError
    else:
        cls = STATUS_ERRORS.get(status, TerminalError)
    return cls(message, status=status, method=method, path=path, body=body)
