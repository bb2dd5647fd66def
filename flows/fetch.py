"""Fetch and store: every Conversation API of a completed conversation, concurrently but bounded, typed by the
connector, stored per API and replaced by conversation id (running it twice leaves the same state)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from connectors.symbl.errors import NotFound
from flows.context import Pipeline
from storage import IntelligenceApi, Request, RequestStatus, StatusConflict

log = logging.getLogger("callscope.fetch")
S = RequestStatus
API = IntelligenceApi
READY = frozenset({S.COMPLETED, S.FETCHED, S.STORED, S.REPORTED})


def _wire(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


def _items(model: BaseModel, attr: str) -> list[dict[str, Any]]:
    return [_wire(item) for item in getattr(model, attr)]


async def fetch_intelligence(ctx: Pipeline, conversation_id: str) -> dict[IntelligenceApi, list[dict[str, Any]]]:
    """Call every intelligence endpoint of one conversation (at most ``fetch_concurrency`` at once)."""
    c = ctx.client
    gate = asyncio.Semaphore(ctx.settings.fetch_concurrency)
    calls: dict[IntelligenceApi, Callable[[], Awaitable[list[dict[str, Any]]]]] = {
        API.CONVERSATION: lambda: _one(c.get_conversation(conversation_id)),
        API.MESSAGES: lambda: _list(c.get_messages(conversation_id, verbose=True, sentiment=True), "messages"),
        API.MEMBERS: lambda: _list(c.get_members(conversation_id), "members"),
        API.TOPICS: lambda: _list(c.get_topics(conversation_id, sentiment=True), "topics"),
        API.QUESTIONS: lambda: _list(c.get_questions(conversation_id), "questions"),
        API.FOLLOW_UPS: lambda: _list(c.get_follow_ups(conversation_id), "follow_ups"),
        API.ACTION_ITEMS: lambda: _list(c.get_action_items(conversation_id), "action_items"),
        API.ANALYTICS: lambda: _one(c.get_analytics(conversation_id)),
        API.TRACKERS: lambda: _trackers(c.get_trackers_detected(conversation_id)),
        API.ENTITIES: lambda: _list(c.get_entities(conversation_id), "entities"),
        API.SUMMARY: lambda: _summary(ctx, conversation_id),
    }

    async def run(api: IntelligenceApi) -> tuple[IntelligenceApi, list[dict[str, Any]]]:
        async with gate:
            return api, await calls[api]()

    return dict(await asyncio.gather(*(run(api) for api in calls)))


async def _one(call: Awaitable[BaseModel]) -> list[dict[str, Any]]:
    return [_wire(await call)]


async def _list(call: Awaitable[BaseModel], attr: str) -> list[dict[str, Any]]:
    return _items(await call, attr)


async def _trackers(call: Awaitable[list[Any]]) -> list[dict[str, Any]]:
    return [_wire(t) for t in await call]


async def _summary(ctx: Pipeline, conversation_id: str) -> list[dict[str, Any]]:
    """The summary answers 404 for a while after the job completes: retried within the grace window, then stored
    empty (the rest of the intelligence is not held back for it)."""
    try:
        summary = await ctx.client.get_summary(conversation_id, grace=ctx.settings.summary_grace, interval=1.0)
    except NotFound:
        log.warning(
            "conversation %s: no summary within %.0fs; stored empty", conversation_id, ctx.settings.summary_grace
        )
        return []
    return _items(summary, "summary")


async def fetch_and_store(ctx: Pipeline, recording_id: str) -> bool:
    """When every part of a recording has completed: fetch its conversation's intelligence, then store each API.

    Returns False (and does nothing) while some part has not completed. Status moves completed → fetched → stored,
    each committed after the step it records.
    """
    requests = await ctx.repo.requests_for(recording_id)
    if not requests or any(r.status not in READY for r in requests):
        return False
    conversation_id = requests[0].conversation_id
    if conversation_id is None:  # pragma: no cover - completed requests always carry it
        return False
    if all(r.status in (S.STORED, S.REPORTED) for r in requests):
        return True
    items = await fetch_intelligence(ctx, conversation_id)
    await _advance(ctx, requests, S.FETCHED, {S.COMPLETED})
    for api, listed in items.items():
        await ctx.repo.replace_intelligence(conversation_id, api, listed)
    await _advance(ctx, requests, S.STORED, {S.FETCHED})
    return True


async def _advance(ctx: Pipeline, requests: list[Request], to: RequestStatus, frm: set[RequestStatus]) -> None:
    for r in requests:
        with contextlib.suppress(StatusConflict):  # already further on (a concurrent run): fine
            await ctx.repo.transition(r.id, to, expected=frm | {to})
