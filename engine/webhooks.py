"""Webhook delivery from the durable outbox: every job status change is POSTed as ``{"jobId", "status"}`` to the
job's ``webhookUrl``, in order per job, retried with capped exponential backoff and jitter; a 2xx delivers it."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import anyio
import httpx

from engine.db import Store
from engine.settings import EngineSettings

log = logging.getLogger("callscope.engine.webhooks")
IDLE_POLL = 0.05  # seconds between outbox checks when idle: the floor of completion → webhook latency


def retry_delay(attempts: int, initial: float, cap: float) -> float:
    """Seconds before the next delivery after ``attempts`` failures: exponential, capped, with full jitter on the
    upper half so many receivers coming back at once are not hit together."""
    base = min(cap, initial * 2 ** max(0, attempts - 1))
    return base / 2 + random.uniform(0, base / 2)


async def deliver_due(store: Store, settings: EngineSettings, client: httpx.AsyncClient) -> int:
    """Try every callback that is due once; returns how many were tried."""
    due = await anyio.to_thread.run_sync(store.due_webhooks)
    for item in due:
        attempts = item["attempts"] + 1
        try:
            response = await client.post(item["url"], json=item["payload"])
            if 200 <= response.status_code < 300:
                await anyio.to_thread.run_sync(store.webhook_delivered, item["id"])
                continue
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        retry_at = None
        if attempts < settings.webhook_max_attempts:
            retry_at = time.time() + retry_delay(
                attempts, settings.webhook_backoff_initial, settings.webhook_backoff_max
            )
        else:
            log.warning("webhook for job %s given up after %d attempts: %s", item["job_id"], attempts, error)
        await anyio.to_thread.run_sync(store.webhook_failed, item["id"], error, retry_at)
    return len(due)


async def deliver_forever(store: Store, settings: EngineSettings) -> None:
    async with httpx.AsyncClient(timeout=settings.webhook_timeout, follow_redirects=False, trust_env=False) as client:
        while True:
            try:
                if not await deliver_due(store, settings, client):
                    await asyncio.sleep(IDLE_POLL)
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must survive a database hiccup
                log.exception("webhook delivery loop error")
                await asyncio.sleep(1.0)
