"""The engine's service behaviour over real HTTP: auth, submissions and their validation, jobs and webhooks,
the Conversation API shapes as the Symbl connector reads them, trackers management and report links."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.symbl import SymblClient
from connectors.symbl.errors import NotFound
from connectors.symbl.models import TextRequest
from tests.engine.calls import BUDGET_TRACKER, messages
from tests.engine.servers import APP_ID, APP_SECRET, EngineProcess, Receiver
from tests.servers import free_port

pytestmark = pytest.mark.engine
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NUMERIC = re.compile(r"^\d{16}$")


def auth(engine: EngineProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {engine.token()}"}


async def run_text(client: SymblClient, **params: Any) -> tuple[str, str]:
    """Submit the sales call, wait for the job; (conversation id, job id)."""
    ref = await client.submit_text(TextRequest.model_validate({"messages": messages(), **params}))
    job = await client.wait(ref.job_id, interval=0.2, deadline=120)
    assert job.status == "completed", job
    return ref.conversation_id, ref.job_id


# ---- auth -------------------------------------------------------------------------------------------------------


def test_token_is_cached_and_bad_credentials_are_401(engine: EngineProcess) -> None:
    url = engine.url + "/oauth2/token:generate"
    first = httpx.post(url, json={"type": "application", "appId": APP_ID, "appSecret": APP_SECRET}).json()
    second = httpx.post(url, json={"type": "application", "appId": APP_ID, "appSecret": APP_SECRET}).json()
    assert first["accessToken"] == second["accessToken"] and first["accessToken"].count(".") == 2  # a JWT
    assert 0 < second["expiresIn"] <= 86400
    bad = httpx.post(url, json={"type": "application", "appId": APP_ID, "appSecret": "wrong"})
    assert bad.status_code == 401 and bad.json()["message"]


def test_requests_without_a_valid_token_get_symbls_401(engine: EngineProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"x-api-key": "nope.nope.nope"}):
        response = httpx.get(engine.url + "/v1/conversations", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"message": "Token validation failed for provided token."}
    legacy = httpx.get(engine.url + "/v1/conversations", headers={"x-api-key": engine.token()})
    assert legacy.status_code == 200


def test_openapi_is_served(engine: EngineProcess) -> None:
    spec = httpx.get(engine.url + "/openapi.json").json()
    assert "/v1/process/audio" in spec["paths"] and "/v1/manage/trackers/{tid}" in spec["paths"]


# ---- a text conversation end to end, read with the connector ------------------------------------------------------


async def test_text_conversation_end_to_end(client: SymblClient, receiver: Receiver) -> None:
    cid, job_id = await run_text(
        client,
        name="Discovery call",
        webhookUrl=receiver.url,
        detectPhrases=True,
        detectEntities=True,
        trackers=[BUDGET_TRACKER],
        entities=[{"customType": "Team", "text": "IT team"}],
    )
    assert NUMERIC.match(cid)
    conversation = await client.get_conversation(cid)
    assert conversation.name == "Discovery call" and len(conversation.members or []) == 2

    msgs = (await client.get_messages(cid, verbose=True, sentiment=True)).messages
    assert len(msgs) == 10 and all(NUMERIC.match(m.id) for m in msgs)
    raw = httpx.get(
        f"{client.settings.api_root}/v1/conversations/{cid}/messages?sentiment=true",
        headers={"Authorization": f"Bearer {await client.auth.token()}"},
    ).json()["messages"]
    assert all(ISO.match(m["startTime"]) and ISO.match(m["endTime"]) for m in raw)
    assert raw[0]["timeOffset"] == 0 and raw[1]["timeOffset"] > raw[0]["timeOffset"]
    budget = next(m for m in raw if "ran out of budget" in m["text"])
    assert budget["sentiment"]["suggested"] == "negative"
    assert any(m["phrases"] for m in raw), "detectPhrases fills action phrases"

    follow_ups = (await client.get_follow_ups(cid)).follow_ups
    quote = next(f for f in follow_ups if "quote" in f.text)
    assert quote.due_by is not None and quote.due_by.isoformat().startswith("2026-03-06")  # that Friday
    assert quote.assignee is not None and quote.assignee.name == "Natalia"
    questions = (await client.get_questions(cid)).questions
    assert any("biggest problem" in q.text for q in questions)

    detected = await client.get_trackers_detected(cid)
    assert [t.name for t in detected] == ["Budget objection"]
    refs = [r for match in detected[0].matches for r in match.message_refs]
    assert any("ran out of budget" in r.text and r.offset == -1 for r in refs)

    analytics = await client.get_analytics(cid)
    talk = {m.name: m.talk_time.seconds for m in analytics.members}
    assert set(talk) == {"Natalia", "Mike"} and all(v > 0 for v in talk.values())
    entities = (await client.get_entities(cid)).entities
    assert any(e.type == "custom" and e.text == "it team" for e in entities)
    assert any(e.type == "location" for e in entities)
    assert (await client.get_topics(cid)).topics and (await client.get_summary(cid)).summary
    assert receiver.wait_for(job_id, "completed") == ["scheduled", "in_progress", "completed"]


async def test_webhooks_are_retried_until_the_receiver_accepts(client: SymblClient, receiver: Receiver) -> None:
    receiver.refuse = 2
    _, job_id = await run_text(client, webhookUrl=receiver.url)
    assert receiver.wait_for(job_id, "completed") == ["scheduled", "in_progress", "completed"]
    refused = [c for c in receiver.calls if c["jobId"] == job_id and not c["accepted"]]
    assert len(refused) == 2 and refused[0]["status"] == "scheduled"


async def test_put_appends_parts_in_order_with_continuous_offsets(client: SymblClient) -> None:
    first = await client.submit_text(TextRequest.model_validate({"messages": messages()[:4]}))
    second = await client.submit_text({"messages": messages()[4:]}, conversation_id=first.conversation_id)
    assert second.conversation_id == first.conversation_id and second.job_id != first.job_id
    for ref in (first, second):
        assert (await client.wait(ref.job_id, interval=0.2, deadline=120)).status == "completed"
    msgs = (await client.get_messages(first.conversation_id)).messages
    assert [m.text for m in msgs] == [m["payload"]["content"] for m in messages()]
    offsets = [m.time_offset or 0 for m in msgs]
    assert offsets == sorted(offsets) and offsets[4] > offsets[3]


def test_an_idempotency_key_answers_a_repeat_with_the_first_job(engine: EngineProcess) -> None:
    body = {"messages": messages()[:2]}
    url = engine.url + "/v1/process/text"
    first = httpx.post(url, json=body, headers={**auth(engine), "Idempotency-Key": "k-1"})
    again = httpx.post(url, json=body, headers={**auth(engine), "Idempotency-Key": "k-1"})
    other = httpx.post(url, json=body, headers={**auth(engine), "Idempotency-Key": "k-2"})
    assert first.status_code == again.status_code == other.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers and other.json()["jobId"] != first.json()["jobId"]
    audio = httpx.post(
        engine.url + "/v1/process/audio", content=b"RIFF....", headers={**auth(engine), "Idempotency-Key": "k-1"}
    )
    assert audio.json() == first.json()  # the key names the submission, whatever is sent again
    bad = httpx.post(url, json=body, headers={**auth(engine), "Idempotency-Key": "x" * 201})
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["message"]


async def test_conversation_management(client: SymblClient, engine: EngineProcess) -> None:
    cid, _ = await run_text(client, name="To manage")
    headers = auth(engine)
    base = f"{engine.url}/v1/conversations/{cid}"
    listed = httpx.get(
        engine.url + "/v1/conversations?order=desc&limit=50&startTime=2026-03-01T00:00:00Z", headers=headers
    ).json()
    assert cid in [c["id"] for c in listed["conversations"]]
    put = httpx.put(base, json={"metadata": {"label": "Business"}}, headers=headers)
    assert put.json() == {"id": cid, "metadata": {"label": "Business"}}
    members = httpx.get(base + "/members", headers=headers).json()["members"]
    mike = next(m for m in members if m["name"] == "Mike")
    renamed = httpx.put(
        f"{base}/members/{mike['id']}", json={"id": mike["id"], "name": "Michael", "email": "m@x.io"}, headers=headers
    )
    assert renamed.status_code == 200 and "updated successfully" in renamed.json()["message"]
    texts = httpx.get(base + "/messages", headers=headers).json()["messages"]
    assert {m["from"]["name"] for m in texts} == {"Natalia", "Michael"}
    srt = httpx.post(base + "/transcript", json={"contentType": "text/srt"}, headers=headers).json()["transcript"]
    assert srt["contentType"] == "text/srt" and "00:00:00,000 -->" in srt["payload"]
    markdown = httpx.post(base + "/transcript", json={}, headers=headers).json()["transcript"]["payload"]
    assert "**Michael**" in markdown
    both = httpx.get(base + "/topics?sentiment=true&parentRefs=true", headers=headers)
    assert both.status_code == 400
    events = {
        "speakerEvents": [
            {"type": "started_speaking", "user": {"id": "u1", "name": "Agent"}, "offset": {"seconds": 0, "nanos": 0}},
            {"type": "stopped_speaking", "user": {"id": "u1", "name": "Agent"}, "offset": {"seconds": 1000}},
        ]
    }
    assert httpx.put(base + "/speakers", json=events, headers=headers).status_code == 200
    analytics = httpx.get(base + "/analytics", headers=headers).json()
    assert [m["name"] for m in analytics["members"]] == ["Agent"]
    assert httpx.delete(base, headers=headers).json() == {"message": "successfully deleted the conversation"}
    gone = httpx.get(base + "/messages", headers=headers)
    assert (
        gone.status_code == 404 and gone.json()["message"] == "The conversationId is either invalid or does not exist."
    )
    with pytest.raises(NotFound):
        await client.get_conversation(cid)


# ---- validation ---------------------------------------------------------------------------------------------------

TEXT = {"messages": [{"payload": {"content": "hello there"}}]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/process/text", {**TEXT, "confidenceThreshold": 0.2}, "confidenceThreshold"),
        ("/v1/process/text", {**TEXT, "surprise": True}, "surprise"),
        ("/v1/process/text", {"messages": []}, "messages"),
        ("/v1/process/text", {"messages": [{"payload": {"content": ""}}]}, "content"),
        ("/v1/process/text", {**TEXT, "webhookUrl": "ftp://x"}, "webhookUrl"),
        ("/v1/process/text", {**TEXT, "trackers": [{"name": "T", "vocabulary": ["why?"]}]}, "trackers"),
        ("/v1/process/text", {**TEXT, "timezoneOffset": 5000}, "timezoneOffset"),
        ("/v1/process/audio/url", {"url": "https://example.com/a.wav", "languageCode": "xx-XX"}, "languageCode"),
        (
            "/v1/process/audio/url",
            {"url": "https://example.com/a.wav", "channelMetadata": [{"channel": 1, "speaker": {}}]},
            "channelMetadata",
        ),
        (
            "/v1/process/audio/url",
            {"url": "https://example.com/a.wav", "enableSpeakerDiarization": True},
            "diarizationSpeakerCount",
        ),
        ("/v1/process/audio/url", {"url": "ftp://example.com/a.wav"}, "http"),
        ("/v1/process/audio/url", {"url": "http://169.254.169.254/latest"}, "link-local"),
        ("/v1/process/audio/url", {"url": "http://10.0.0.8/a.wav"}, "private"),
    ],
)
def test_invalid_json_submissions_get_a_400_naming_the_problem(
    engine: EngineProcess, path: str, body: dict[str, Any], field: str
) -> None:
    response = httpx.post(engine.url + path, json=body, headers=auth(engine))
    assert response.status_code == 400, response.text
    assert field in response.json()["message"]


@pytest.mark.parametrize(
    ("query", "headers", "body", "status", "text"),
    [
        ("detectPhrases=True", {}, b"RIFF", 400, "lowercase"),
        ("trackers=[oops", {}, b"RIFF", 400, "JSON"),
        ("", {"Content-Type": "text/plain"}, b"RIFF", 400, "Content-Type"),
        ("", {}, b"", 400, "empty"),
        ("enableSpeakerDiarization=true", {}, b"RIFF", 400, "diarizationSpeakerCount"),
    ],
)
def test_invalid_file_submissions(
    engine: EngineProcess, query: str, headers: dict[str, str], body: bytes, status: int, text: str
) -> None:
    response = httpx.post(f"{engine.url}/v1/process/audio?{query}", content=body, headers={**auth(engine), **headers})
    assert response.status_code == status and text in response.json()["message"], response.text


def test_video_and_unknown_conversations(engine: EngineProcess) -> None:
    video = httpx.post(engine.url + "/v1/process/video", content=b"x", headers=auth(engine))
    assert video.status_code == 415 and "/v1/process/audio" in video.json()["message"]
    put = httpx.put(engine.url + "/v1/process/text/1234567890123456", json=TEXT, headers=auth(engine))
    assert put.status_code == 404
    job = httpx.get(engine.url + "/v1/job/00000000-0000-0000-0000-000000000000", headers=auth(engine))
    assert job.status_code == 404 and "jobId" in job.json()["message"]


def test_a_redirecting_media_url_fails_the_job_with_its_reason(engine: EngineProcess, receiver: Receiver) -> None:
    # The receiver answers 405 to GET: a real non-200 answer from a real server; and loopback is allow-listed here.
    response = httpx.post(engine.url + "/v1/process/audio/url", json={"url": receiver.url}, headers=auth(engine))
    assert response.status_code == 201
    job_id = response.json()["jobId"]
    deadline = time.monotonic() + 60
    while (job := httpx.get(f"{engine.url}/v1/job/{job_id}", headers=auth(engine)).json())["status"] != "failed":
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert "HTTP 405" in job["message"]


# ---- trackers management ----------------------------------------------------------------------------------------

VOCAB = ["pricing", "how much does it cost", "what is the price", "subscription fee", "per seat"]


def test_trackers_management_both_generations(engine: EngineProcess) -> None:
    h = auth(engine)
    one = httpx.post(engine.url + "/v1/manage/tracker", json={"name": "Pricing", "vocabulary": VOCAB}, headers=h)
    assert one.status_code == 201
    tid = one.json()["tracker"]["id"]
    assert NUMERIC.match(tid)
    dup = httpx.post(engine.url + "/v1/manage/trackers", json={"name": "Pricing", "vocabulary": VOCAB}, headers=h)
    assert dup.status_code == 409
    case = httpx.post(engine.url + "/v1/manage/trackers", json={"name": "pricing", "vocabulary": VOCAB}, headers=h)
    assert case.status_code == 201  # names are case-sensitive
    bulk = httpx.post(
        engine.url + "/v1/manage/trackers/bulk",
        json=[{"name": "Churn", "vocabulary": ["cancel", "switch providers", "not renew", "leave", "terminate"]}],
        headers=h,
    )
    assert bulk.status_code == 201 and bulk.json()["trackers"][0]["name"] == "Churn"
    by_name = httpx.get(engine.url + "/v1/manage/trackers?name=Pricing", headers=h).json()["trackers"]
    assert [t["id"] for t in by_name] == [tid]
    put = httpx.put(
        f"{engine.url}/v1/manage/tracker/{tid}", json={"id": tid, "name": "Price", "vocabulary": VOCAB}, headers=h
    )
    assert put.json()["tracker"]["name"] == "Price"
    patch = httpx.patch(
        f"{engine.url}/v1/manage/trackers/{tid}",
        json=[
            {"op": "add", "path": "/vocabulary", "value": ["annual plan"]},
            {"op": "replace", "path": "/description", "value": "money"},
        ],
        headers=h,
    )
    assert patch.status_code == 200 and "annual plan" in patch.json()["tracker"]["vocabulary"]
    assert patch.json()["tracker"]["description"] == "money"
    assert httpx.delete(f"{engine.url}/v1/manage/trackers/{tid}", headers=h).json()["deleted"] is True
    assert httpx.get(f"{engine.url}/v1/manage/tracker/{tid}", headers=h).status_code == 404
    assert httpx.delete(f"{engine.url}/v1/manage/tracker/{tid}", headers=h).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "Few", "vocabulary": ["a", "b", "c"]}, 400),
        ({"name": "Many", "vocabulary": [f"term {i}" for i in range(51)]}, 400),
        ({"name": "Punct", "vocabulary": ["why?", "b", "c", "d", "e"]}, 400),
        ({"name": "Dupes", "vocabulary": ["a b", "A B", "c", "d", "e"]}, 400),
        ({"name": "Big", "vocabulary": VOCAB, "description": "x" * (1 << 20)}, 413),
    ],
)
def test_tracker_rules(engine: EngineProcess, body: dict[str, Any], status: int) -> None:
    response = httpx.post(engine.url + "/v1/manage/trackers", json=body, headers=auth(engine))
    assert response.status_code == status, response.text


async def test_managed_trackers_by_id_and_all(client: SymblClient, engine: EngineProcess) -> None:
    h = auth(engine)
    created = httpx.post(
        engine.url + "/v1/manage/trackers",
        json={
            "name": "Headcount",
            "vocabulary": ["number of agents", "how many users", "team size", "seats", "licenses"],
        },
        headers=h,
    ).json()["tracker"]
    cid, _ = await run_text(client, trackers=[{"id": created["id"]}])
    assert [t.name for t in await client.get_trackers_detected(cid)] == ["Headcount"]
    cid_all, _ = await run_text(client, enableAllTrackers=True)
    assert "Headcount" in [t.name for t in await client.get_trackers_detected(cid_all)]


# ---- the summary's 404 and report links ----------------------------------------------------------------------------


async def test_report_links_are_signed_and_expire(client: SymblClient, engine: EngineProcess) -> None:
    cid, _ = await run_text(client)
    h = auth(engine)
    made = httpx.post(
        f"{engine.url}/v1/conversations/{cid}/experiences",
        json={"name": "verbose-text-summary", "color": {"background": "#102030"}, "summaryURLExpiresIn": 2},
        headers=h,
    ).json()
    assert made["name"] == "verbose-text-summary" and f"/reports/{cid}?t=" in made["url"]
    page = httpx.get(made["url"])
    assert page.status_code == 200 and "#102030" in page.text and "Natalia" in page.text
    tampered = httpx.get(made["url"][:-1] + ("0" if made["url"][-1] != "0" else "1"))
    assert tampered.status_code == 403
    await asyncio.sleep(2.5)
    expired = httpx.get(made["url"])
    assert expired.status_code == 403 and "expired" in expired.text
    never = httpx.post(
        f"{engine.url}/v1/conversations/{cid}/experiences",
        json={"name": "verbose-text-summary", "summaryURLExpiresIn": 0},
        headers=h,
    ).json()
    assert httpx.get(never["url"]).status_code == 200
    audio = httpx.post(f"{engine.url}/v1/conversations/{cid}/experiences", json={"name": "audio-summary"}, headers=h)
    assert audio.status_code == 400


def test_callscope_engine_serve_starts_the_engine(tmp_path: Path) -> None:
    """The README's command: ``callscope engine serve`` runs the engine program (here API-only, no workers)."""
    port = free_port()
    env = {**os.environ, "CALLSCOPE_ENGINE_DATA_DIR": str(tmp_path)}
    cli = Path(sys.executable).with_name("callscope")
    process = subprocess.Popen(
        [str(cli), "engine", "serve", "--port", str(port), "--workers", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/health").json() == {"status": "ok"}
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        credentials = (tmp_path / "credentials.env").read_text()
        assert "CALLSCOPE_SYMBL_APP_ID=callscope" in credentials  # a generated secret, for the pipeline to read
        assert oct((tmp_path / "credentials.env").stat().st_mode & 0o777) == "0o600"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
