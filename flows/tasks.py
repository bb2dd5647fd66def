"""The stages as Prefect tasks: names that read well in the UI, transient failures retried with backoff, terminal
ones recorded. Per batch or per recording, never a subflow per recording."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from connectors.symbl.errors import SymblError
from flows import experience, fetch, status, submit
from storage import TransientStorageError


def is_transient(exc: BaseException) -> bool:
    """A failure that may pass if retried later: the provider's or the store's transient errors, I/O errors."""
    if isinstance(exc, SymblError):
        return exc.transient
    return isinstance(exc, TransientStorageError | OSError)


async def retry_transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed for a reason that may pass."""
    outcome = await state.aresult(raise_on_failure=False)
    return isinstance(outcome, BaseException) and is_transient(outcome)


def _plain(name: str, run_name: str | None = None) -> Any:
    return task(name=name, task_run_name=run_name, cache_policy=NO_CACHE, persist_result=False)


def _retrying(name: str, run_name: str) -> Any:
    return task(
        name=name,
        task_run_name=run_name,
        cache_policy=NO_CACHE,
        persist_result=False,
        retries=3,
        retry_delay_seconds=exponential_backoff(backoff_factor=2),
        retry_jitter_factor=0.5,
        retry_condition_fn=retry_transient,
    )


submit_pending = _plain("submit-pending")(submit.submit_pending)
reconcile_submitting = _plain("reconcile-submitting")(submit.reconcile_submitting)
check_active = _plain("poll-jobs")(status.check_active)
fetch_and_store = _retrying("fetch-intelligence", "fetch-{recording_id}")(fetch.fetch_and_store)
create_report = _retrying("create-report", "report-{recording_id}")(experience.create_report)
