"""The storage contract: every backend passes the same tests against its real server."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from storage import (
    BusinessUX,
    IllegalTransition,
    IntelligenceApi,
    InvalidInput,
    NotFound,
    Repository,
    RequestStatus,
    StatusConflict,
    open_repository,
)
from storage.models import utcnow

S = RequestStatus


def recording(n: int, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "content_hash": hashlib.sha256(f"recording-{n}".encode()).hexdigest(),
        "source_uri": f"file:///calls/{n}.wav",
        "file_name": f"{n}.wav",
        "duration_s": 60.0 + n,
    }
    data.update(over)
    return data


@pytest.fixture
async def repo(storage_url: str) -> AsyncIterator[Repository]:
    async with open_repository(storage_url, cap=3) as r:
        yield r


async def test_register_roundtrips_every_field(repo: Repository) -> None:
    reg = await repo.register(
        recording(
            1,
            language_code="en-GB",
            timezone_offset=-300,
            custom_vocabulary=["Acme", "upsell"],
            business_name="Acme",
            speaker_count=2,
            separate_channels=True,
            recording_url="https://example.com/1.wav",
            speakers=[{"name": "Agent", "email": "a@acme.com", "channel": 1}, {"name": "Caller", "channel": 2}],
            metadata={"service": "billing", "nested": {"k": [1, 2]}},
        )
    )
    assert reg.created
    got = await repo.get_recording(reg.recording.id)
    assert got is not None
    assert got.model_dump(exclude={"added_at"}) == reg.recording.model_dump(exclude={"added_at"})
    assert abs((got.added_at - reg.recording.added_at).total_seconds()) < 0.01
    [req] = reg.requests
    stored = await repo.get_request(req.id)
    assert stored is not None
    assert stored.status == S.PENDING
    assert stored.webhook_token == req.webhook_token
    assert [h.status for h in stored.history] == [S.PENDING]
    assert await repo.counts_by_status() == {S.PENDING: 1}


async def test_register_is_idempotent_by_content_hash(repo: Repository) -> None:
    first = await repo.register(recording(1))
    again = await repo.register(recording(1, source_uri="s3://other/place.wav", file_name="renamed.wav"))
    assert not again.created
    assert again.recording.id == first.recording.id
    assert again.recording.file_name == "1.wav"
    assert [r.id for r in again.requests] == [r.id for r in first.requests]
    assert await repo.counts_by_status() == {S.PENDING: 1}


async def test_recordings_over_four_hours_are_split_into_parts(repo: Repository) -> None:
    reg = await repo.register(recording(1, duration_s=9 * 3600.0))
    assert [r.part for r in reg.requests] == [0, 1, 2]
    assert sum(r.duration_s for r in reg.requests) == pytest.approx(9 * 3600.0)
    assert [r.id for r in await repo.requests_for(reg.recording.id)] == [r.id for r in reg.requests]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"content_hash": "abc"}, "content_hash"),
        ({"duration_s": -1}, "duration_s"),
        ({"language_code": "english"}, "language_code"),
        ({"separate_channels": True, "speakers": [{"name": "x"}]}, "channel"),
        ({"speakers": [{"email": "not-an-email"}]}, "speakers.0.email"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
async def test_bad_recordings_are_rejected_with_the_field_named(
    repo: Repository, override: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput, match=field.replace(".", r"\.")):
        await repo.register(recording(1, **override))
    assert await repo.counts_by_status() == {}


async def test_life_cycle_records_history_and_rejects_illegal_moves(repo: Repository) -> None:
    [req] = (await repo.register(recording(1))).requests
    with pytest.raises(IllegalTransition, match="pending → completed"):
        await repo.transition(req.id, S.COMPLETED)
    [claimed] = await repo.claim(1)
    await repo.transition(
        req.id, S.SCHEDULED, job_id="job-1", conversation_id="5815170693595136", submitted_at=utcnow()
    )
    again = await repo.transition(req.id, "scheduled")  # a duplicate webhook changes nothing
    assert len(again.history) == 3
    for status in (S.IN_PROGRESS, S.COMPLETED, S.FETCHED, S.STORED, S.REPORTED):
        await repo.transition(req.id, status, note=f"to {status}")
    final = await repo.get_request(req.id)
    assert final is not None
    assert [h.status for h in final.history] == [
        S.PENDING,
        S.SUBMITTING,
        S.SCHEDULED,
        S.IN_PROGRESS,
        S.COMPLETED,
        S.FETCHED,
        S.STORED,
        S.REPORTED,
    ]
    assert final.job_id == "job-1"
    assert final.attempts == claimed.attempts == 1
    with pytest.raises(IllegalTransition):
        await repo.transition(req.id, S.IN_PROGRESS)


async def test_compare_and_set_and_failure_from_any_state(repo: Repository) -> None:
    [req] = (await repo.register(recording(1))).requests
    with pytest.raises(StatusConflict, match="expected one of"):
        await repo.transition(req.id, S.FAILED, expected=[S.SCHEDULED])
    failed = await repo.transition(req.id, S.FAILED, expected=[S.PENDING], last_error="file is not audio")
    assert failed.last_error == "file is not audio"
    retried = await repo.transition(req.id, S.PENDING, note="operator retry")
    assert retried.status == S.PENDING
    with pytest.raises(NotFound):
        await repo.transition("nope", S.FAILED)
    with pytest.raises(InvalidInput, match="unknown status"):
        await repo.transition(req.id, "done")
    with pytest.raises(InvalidInput, match="cannot set"):
        await repo.transition(req.id, S.FAILED, attempts=5)


async def test_claim_takes_oldest_pending_up_to_the_cap_and_release_puts_back(repo: Repository) -> None:
    ids = [(await repo.register(recording(n))).requests[0].id for n in range(5)]
    if not repo.capabilities.strict_fifo:  # approximate FIFO: pin the order by leaving only 3 pending
        for rid in ids[3:]:
            await repo.transition(rid, S.FAILED)
    first = await repo.claim(10)
    assert [r.id for r in first] == ids[:3]
    assert all(r.status == S.SUBMITTING and r.attempts == 1 and r.idempotency_key for r in first)
    assert first == [await repo.get_request(r.id) for r in first]  # what claim returns is what was stored
    assert await repo.claim(10) == []
    assert await repo.active_count() == 3
    released = await repo.release(ids[1], "429 from the provider")
    assert released.status == S.PENDING
    assert released.history[-1].note == "429 from the provider"
    with pytest.raises(StatusConflict):
        await repo.release(ids[1])
    [again] = await repo.claim(10)
    assert again.id == ids[1]
    assert again.attempts == 2
    assert again.idempotency_key != next(r.idempotency_key for r in first if r.id == ids[1])
    await repo.transition(ids[0], S.COMPLETED)
    if repo.capabilities.strict_fifo:
        assert [r.id for r in await repo.claim(1)] == [ids[3]]
        assert [r.id for r in await repo.oldest_pending(5)] == [ids[4]]
    with pytest.raises(InvalidInput):
        await repo.claim(-1)


async def test_a_changed_cap_holds_from_the_next_claim(storage_url: str) -> None:
    async with open_repository(storage_url, cap=4) as repo:
        for n in range(8):
            await repo.register(recording(n))
        assert len(await repo.claim(10)) == 4
    async with open_repository(storage_url, cap=2) as repo:
        assert await repo.claim(10) == []  # 4 active: over the lowered cap
        for r in (await repo.active_requests())[:3]:
            await repo.transition(r.id, S.COMPLETED)
        assert len(await repo.claim(10)) == 1
        assert await repo.active_count() == 2
    async with open_repository(storage_url, cap=5) as repo:
        assert len(await repo.claim(10)) == 3  # every request still pending
        assert await repo.active_count() == 5


async def test_lookups_by_ids(repo: Repository) -> None:
    regs = [await repo.register(recording(n)) for n in range(3)]
    await repo.claim(3)
    a, b = regs[0].requests[0], regs[1].requests[0]
    await repo.transition(a.id, S.SCHEDULED, job_id="job-a", conversation_id="1111111111111111")
    await repo.transition(b.id, S.IN_PROGRESS, job_id="job-b", conversation_id="1111111111111111")
    found = await repo.by_job_id("job-a")
    assert found is not None
    assert found.id == a.id
    assert await repo.by_job_id("job-z") is None
    assert {r.id for r in await repo.by_conversation_id("1111111111111111")} == {a.id, b.id}
    assert await repo.counts_by_status() == {S.SCHEDULED: 1, S.IN_PROGRESS: 1, S.SUBMITTING: 1}
    assert {r.id for r in await repo.list_requests([S.SCHEDULED, S.SUBMITTING])} == {a.id, regs[2].requests[0].id}
    if repo.capabilities.unique_job_ids:
        with pytest.raises(InvalidInput):
            await repo.transition(regs[2].requests[0].id, S.SCHEDULED, job_id="job-a")


async def test_active_older_than_a_ratio_of_duration(repo: Repository) -> None:
    short = (await repo.register(recording(1, duration_s=100.0))).requests[0]
    long = (await repo.register(recording(2, duration_s=10_000.0))).requests[0]
    await repo.claim(2)
    submitted = utcnow() - timedelta(seconds=60)
    for req in (short, long):
        await repo.transition(req.id, S.SCHEDULED, submitted_at=submitted)
    # 60 s running: past 0.4 × 100 s, within 0.4 × 10,000 s.
    assert [r.id for r in await repo.active_older_than(0.4)] == [short.id]
    assert await repo.active_older_than(0.4, now=submitted) == []
    with pytest.raises(InvalidInput):
        await repo.active_older_than(0)


async def test_intelligence_is_replaced_by_conversation_and_read_back_in_order(repo: Repository) -> None:
    cid = "5815170693595136"
    messages = [{"id": str(i), "text": f"message {i}", "words": [{"word": "w", "timeOffset": i}]} for i in range(620)]
    await repo.replace_intelligence(cid, IntelligenceApi.MESSAGES, messages)
    await repo.replace_intelligence(cid, "messages", messages[:2])
    got = await repo.get_intelligence(cid, IntelligenceApi.MESSAGES)
    assert got is not None
    assert got.items == messages[:2]
    await repo.replace_intelligence(cid, "analytics", {"metrics": [{"type": "total_silence", "percent": 29.1}]})
    analytics = await repo.get_intelligence(cid, "analytics")
    assert analytics is not None
    assert analytics.items == [{"metrics": [{"type": "total_silence", "percent": 29.1}]}]
    await repo.replace_intelligence(cid, "topics", messages)
    topics = await repo.get_intelligence(cid, "topics")
    assert topics is not None
    assert topics.items == messages
    assert await repo.get_intelligence(cid, "summary") is None
    assert await repo.get_intelligence("other", "messages") is None
    await repo.replace_intelligence(cid, "follow_ups", [])  # stored, and empty: not the same as never stored
    follow_ups = await repo.get_intelligence(cid, "follow_ups")
    assert follow_ups is not None
    assert follow_ups.items == []
    await repo.replace_intelligence(cid, "topics", [])
    emptied = await repo.get_intelligence(cid, "topics")
    assert emptied is not None
    assert emptied.items == []
    with pytest.raises(InvalidInput, match="api"):
        await repo.replace_intelligence(cid, "sentiments", [])


async def test_business_ux_and_experiences(repo: Repository) -> None:
    ux = BusinessUX(
        business_name="Acme",
        logo_url="https://acme.example/logo.png",
        colors={"background": "#112233", "topicsFilter": "#abc"},
        font="Inter",
    )
    await repo.put_business_ux(ux)
    await repo.put_business_ux(ux.model_copy(update={"font": "Roboto"}))
    got = await repo.get_business_ux("Acme")
    assert got is not None
    assert got.font == "Roboto"
    assert got.colors == ux.colors
    assert await repo.get_business_ux("Other") is None
    with pytest.raises(InvalidInput, match="hex colour"):
        await repo.put_business_ux({"business_name": "x", "colors": {"background": "red"}})
    assert await repo.get_business_ux("x") is None

    expires = utcnow() + timedelta(days=30)
    await repo.put_experience(
        {"conversation_id": "c1", "name": "audio-summary", "url": "http://x/1", "expires_at": expires}
    )
    await repo.put_experience({"conversation_id": "c1", "name": "audio-summary", "url": "http://x/2"})
    exp = await repo.get_experience("c1", "audio-summary")
    assert exp is not None
    assert exp.url == "http://x/2"
    assert exp.expires_at is None
    with pytest.raises(InvalidInput, match="url"):
        await repo.put_experience({"conversation_id": "c1", "name": "audio-summary", "url": ""})


async def test_setup_is_idempotent(storage_url: str) -> None:
    for _ in range(2):
        async with open_repository(storage_url) as repo:
            await repo.register(recording(1))
    async with open_repository(storage_url) as repo:
        assert await repo.counts_by_status() == {S.PENDING: 1}
