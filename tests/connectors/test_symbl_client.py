"""The Symbl connector against a real HTTP server on 127.0.0.1 (the stand-in provider)."""

from __future__ import annotations

import json
import logging
import wave
from pathlib import Path
from typing import Any

import pytest

from connectors.symbl import SymblClient, SymblSettings, errors, models, retry_delay, should_retry
from tests.connectors.conftest import SleepRecorder, settings_for
from tests.connectors.symbl_stand_in import CONVERSATION, StandInServer


def write_wav(path: Path, seconds: float = 0.5) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x01" * int(16000 * seconds))
    return path


# ---- auth -------------------------------------------------------------------------------------------------------
async def test_token_is_cached_and_never_shown(
    client: SymblClient, stand_in: StandInServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get_conversation(CONVERSATION)
    await client.get_members(CONVERSATION)
    assert stand_in.state.tokens_issued == 1
    token = next(iter(stand_in.state.tokens))
    assert token not in repr(client)
    assert token not in caplog.text
    assert "test-secret" not in repr(client.settings)


async def test_expired_token_is_renewed_once_on_401(client: SymblClient, stand_in: StandInServer) -> None:
    await client.get_conversation(CONVERSATION)
    stand_in.state.expire_tokens()
    conv = await client.get_conversation(CONVERSATION)
    assert conv.id == CONVERSATION
    assert stand_in.state.tokens_issued == 2


async def test_token_is_renewed_before_it_expires(stand_in: StandInServer, sleeps: SleepRecorder) -> None:
    stand_in.state.token_lifetime = 100
    async with SymblClient(settings_for(stand_in, token_refresh_margin=150), sleep=sleeps) as c:
        await c.get_conversation(CONVERSATION)
        await c.get_conversation(CONVERSATION)
    assert stand_in.state.tokens_issued == 2  # 100 s tokens are always within the 150 s margin


async def test_bad_credentials_and_a_refused_static_token(stand_in: StandInServer) -> None:
    async with SymblClient(settings_for(stand_in, app_secret="wrong")) as c:
        with pytest.raises(errors.Unauthorized, match="Invalid credentials") as info:
            await c.get_conversation(CONVERSATION)
    assert info.value.status == 401
    assert info.value.path == "/oauth2/token:generate"
    async with SymblClient(SymblSettings(base_url=stand_in.url, token="stale")) as c:
        with pytest.raises(errors.Unauthorized, match="Token validation failed"):
            await c.get_conversation(CONVERSATION)


def test_settings_validate() -> None:
    with pytest.raises(ValueError, match="go together"):
        SymblSettings(app_id="x")
    with pytest.raises(ValueError, match="read_timeout"):
        SymblSettings(read_timeout=0)
    with pytest.raises(ValueError, match="trackers_api"):
        SymblSettings(trackers_api="2024")


# ---- Async API --------------------------------------------------------------------------------------------------
async def test_audio_file_post_streams_with_query_encoding(
    client: SymblClient, stand_in: StandInServer, tmp_path: Path
) -> None:
    wav = write_wav(tmp_path / "call.wav")
    ref = await client.submit_audio_file(
        wav,
        {
            "name": "Sales call",
            "confidence_threshold": 0.6,
            "enable_separate_recognition_per_channel": True,
            "channel_metadata": [
                {"channel": 1, "speaker": {"name": "Agent", "email": "a@x.com"}},
                {"channel": 2, "speaker": {"name": "Caller"}},
            ],
            "custom_vocabulary": ["Acme"],
            "detect_phrases": False,
        },
    )
    assert ref.conversation_id == CONVERSATION
    [call] = stand_in.state.calls("/v1/process/audio")
    assert call["headers"]["content-type"] == "audio/wav"
    assert int(call["headers"]["content-length"]) == wav.stat().st_size == call["body_bytes"]
    q = call["query"]
    assert q["enableSeparateRecognitionPerChannel"] == "true"
    assert q["detectPhrases"] == "false"
    assert json.loads(q["channelMetadata"])[1] == {"channel": 2, "speaker": {"name": "Caller"}}
    assert json.loads(q["customVocabulary"]) == ["Acme"]
    assert q["confidenceThreshold"] == "0.6"


async def test_audio_file_put_appends_and_content_type_follows_the_real_format(
    client: SymblClient, stand_in: StandInServer, tmp_path: Path
) -> None:
    mp3 = tmp_path / "part2.wav"  # misleading name: the bytes are MP3 (ID3 header)
    mp3.write_bytes(b"ID3\x03\x00" + b"\x00" * 2000)
    ogg = tmp_path / "part3.ogg"
    ogg.write_bytes(b"OggS" + b"\x00" * 2000)
    ref = await client.submit_audio_file(mp3, conversation_id="1234567890123456")
    await client.submit_audio_file(ogg, conversation_id="1234567890123456")
    assert ref.conversation_id == "1234567890123456"
    calls = stand_in.state.calls("/v1/process/audio/1234567890123456")
    assert [c["method"] for c in calls] == ["PUT", "PUT"]
    assert calls[0]["headers"]["content-type"] == "audio/mpeg"
    assert "content-type" not in calls[1]["headers"]


async def test_empty_or_missing_files_are_refused_before_sending(
    client: SymblClient, stand_in: StandInServer, tmp_path: Path
) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(errors.SymblError, match="empty"):
        await client.submit_audio_file(tmp_path / "empty.wav")
    with pytest.raises(errors.SymblError, match="cannot read"):
        await client.submit_audio_file(tmp_path / "missing.wav")
    assert stand_in.state.calls("/v1/process") == []


async def test_audio_url_and_text_bodies(client: SymblClient, stand_in: StandInServer) -> None:
    await client.submit_audio_url(
        {
            "url": "https://example.com/call.wav",
            "enable_speaker_diarization": True,
            "diarization_speaker_count": 2,
            "language_code": "en-GB",
            "mode": "phone",
            "webhook_url": "https://hooks.example.com/symbl/tok",
            "trackers": [{"name": "Pricing", "vocabulary": ["what's the price", "discount"]}],
            "features": {"feature_list": ["insights", "callScore"]},
            "metadata": {"sales_stage": "demo", "prospect_name": "Acme"},
            "conversation_type": "sales",
            "start_time": "2026-11-23T10:00:00Z",
        }
    )
    await client.submit_audio_url({"url": "https://example.com/call-2.wav"}, conversation_id=CONVERSATION)
    await client.submit_text(
        {
            "messages": [{"payload": {"content": "Hi Mike"}, "from": {"userId": "n@example.com", "name": "Natalia"}}],
            "detect_phrases": True,
        }
    )
    body = stand_in.state.calls("/v1/process/audio/url")[0]["json"]
    assert body["enableSpeakerDiarization"] is True
    assert body["diarizationSpeakerCount"] == 2
    assert body["trackers"] == [{"name": "Pricing", "vocabulary": ["what's the price", "discount"]}]
    assert body["features"] == {"featureList": ["insights", "callScore"]}
    assert body["metadata"] == {"salesStage": "demo", "prospectName": "Acme"}
    assert body["startTime"].startswith("2026-11-23T10:00:00")
    assert stand_in.state.calls("/v1/process/audio/url/")[0]["method"] == "PUT"
    text = stand_in.state.calls("/v1/process/text")[0]["json"]
    assert text["messages"][0]["from"] == {"userId": "n@example.com", "name": "Natalia"}
    assert text["detectPhrases"] is True


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"confidence_threshold": 0.3}, "confidence_threshold"),
        ({"confidence_threshold": 1.2}, "confidence_threshold"),
        ({"channel_metadata": [{"channel": 1, "speaker": {"name": "A"}}]}, "enableSeparateRecognitionPerChannel"),
        ({"diarization_speaker_count": 2}, "enableSpeakerDiarization"),
        ({"enable_speaker_diarization": True, "diarization_speaker_count": 0}, "diarization_speaker_count"),
        ({"language_code": "xx-XX"}, "languageCode"),
        ({"mode": "loud"}, "mode"),
        ({"trackers": [{"name": "P", "vocabulary": ["price?"]}]}, "trackers.vocabulary"),
        ({"trackers": [{"name": "P"}]}, "trackers"),
        ({"webhook_url": "ftp://x"}, "webhook_url"),
        ({"metadata": {"sales_stage": "closing"}}, "sales_stage"),
        ({"features": {"feature_list": ["magic"]}}, "feature_list"),
        ({"conversation_type": "support"}, "conversation_type"),
        ({"not_a_param": 1}, "not_a_param"),
    ],
)
async def test_invalid_parameters_name_the_field_and_send_nothing(
    client: SymblClient, stand_in: StandInServer, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        await client.submit_audio_url({"url": "https://example.com/a.wav", **params})
    assert stand_in.state.calls("/v1/process") == []


async def test_text_refuses_audio_only_parameters(client: SymblClient) -> None:
    with pytest.raises(ValueError, match="languageCode"):
        await client.submit_text({"messages": [{"payload": {"content": "x"}}], "language_code": "en-US"})
    with pytest.raises(ValueError, match="messages"):
        await client.submit_text({"messages": []})


# ---- Job API and waiting ----------------------------------------------------------------------------------------
async def test_wait_polls_until_completed(client: SymblClient, sleeps: SleepRecorder) -> None:
    ref = await client.submit_audio_url({"url": "https://example.com/a.wav"})
    job = await client.wait(ref.job_id, interval=0.5, deadline=60)
    assert job.status == "completed"
    assert sleeps.delays == [0.5, 0.5]


async def test_wait_deadline_names_the_job_and_its_last_status(client: SymblClient, stand_in: StandInServer) -> None:
    stand_in.state.job_script = ["scheduled", "in_progress"]
    ref = await client.submit_audio_url({"url": "https://example.com/a.wav"})
    with pytest.raises(errors.WaitDeadlineExceeded) as info:
        await client.wait(ref.job_id, interval=1, deadline=3)
    assert info.value.job_id == ref.job_id
    assert info.value.last_status == "in_progress"
    assert info.value.transient
    assert (await client.get_job(ref.job_id)).status == "in_progress"  # the deadline ended the wait, not the job


async def test_wait_raises_on_a_failed_job(client: SymblClient, stand_in: StandInServer) -> None:
    stand_in.state.job_script = ["in_progress", "failed"]
    ref = await client.submit_audio_url({"url": "https://example.com/a.wav"})
    with pytest.raises(errors.JobFailed, match=ref.job_id):
        await client.wait(ref.job_id, interval=0.1)
    with pytest.raises(errors.NotFound):
        await client.get_job("no-such-job")


# ---- Conversation, Experience APIs -----------------------------------------------------------------------------
async def test_every_conversation_endpoint_parses_the_documented_shapes(client: SymblClient) -> None:
    cid = CONVERSATION
    conv = await client.get_conversation(cid)
    assert conv.members[0].name == "John"
    assert (await client.list_conversations(limit=5, order="desc")).conversations[0].id == cid
    messages = await client.get_messages(cid, verbose=True, sentiment=True)
    assert messages.messages[0].words[0].speaker_tag == 1
    assert messages.messages[0].sentiment is not None
    assert (await client.get_members(cid)).members[0].email == "john@example.com"
    topics = await client.get_topics(cid, parent_refs=True)
    assert topics.topics[0].parent_refs[0].text == "company-wise hiring"
    assert (await client.get_questions(cid)).questions[0].from_ is not None
    assert (await client.get_follow_ups(cid)).follow_ups[0].due_by is not None
    action = (await client.get_action_items(cid)).action_items[0]
    assert action.assignee is not None
    assert action.assignee.name == "Vikram"
    assert (await client.get_insights(cid)).insights[0].type == "question"
    analytics = await client.get_analytics(cid)
    assert analytics.metrics[0].percent == 29.061
    assert analytics.members[0].talk_time is not None
    assert analytics.members[0].talk_time.percentage == 40.912
    trackers = await client.get_trackers_detected(cid)
    assert trackers[0].matches[0].message_refs[0].offset == -1
    assert (await client.get_entities(cid)).entities[0].custom_type == "Company Executives"
    assert (await client.get_summary(cid)).summary[0].message_refs[1].id == "948538959348"
    assert "Roger" in (await client.get_transcript(cid)).transcript.payload
    assert (await client.update_conversation(cid, {"label": "won"})).metadata == {"label": "won"}
    assert "updated successfully" in (await client.update_member(cid, "m1", name="Jo")).message
    assert (await client.delete_conversation(cid)).message == "successfully deleted the conversation"
    with pytest.raises(errors.NotFound, match="invalid or does not exist"):
        await client.get_conversation("0000000000000000")
    with pytest.raises(ValueError, match="not supported together"):
        await client.get_topics(cid, sentiment=True, parent_refs=True)


async def test_verbose_and_sentiment_are_lowercase_query_booleans(client: SymblClient, stand_in: StandInServer) -> None:
    await client.get_messages(CONVERSATION, verbose=True)
    [call] = stand_in.state.calls(f"/v1/conversations/{CONVERSATION}/messages")
    assert call["query"] == {"verbose": "true", "sentiment": "false"}


async def test_summary_404_is_retried_within_the_grace_window(
    client: SymblClient, stand_in: StandInServer, sleeps: SleepRecorder
) -> None:
    stand_in.state.summary_404s = 2
    summary = await client.get_summary(CONVERSATION, grace=30, interval=1)
    assert summary.summary
    assert sleeps.delays == [1, 1]
    stand_in.state.summary_404s = 5
    with pytest.raises(errors.NotFound):
        await client.get_summary(CONVERSATION)  # no grace: the 404 is raised at once


async def test_experience(client: SymblClient) -> None:
    exp = await client.create_experience(
        CONVERSATION,
        {
            "name": "audio-summary",
            "audio_url": "https://example.com/call.wav",
            "summary_url_expires_in": 0,
            "color": {"background": "#112233"},
            "font": {"family": "Inter"},
            "read_only": True,
        },
    )
    assert exp.url.endswith(CONVERSATION)
    with pytest.raises(ValueError, match="audioUrl"):
        await client.create_experience(CONVERSATION, {"name": "audio-summary"})
    assert (
        models.ExperienceRequest(name="audio-summary", audio_url="u", summary_url_expires_in=10).wire()[
            "summaryURLExpiresIn"
        ]
        == 10
    )


# ---- Trackers Management API ------------------------------------------------------------------------------------
@pytest.mark.parametrize("generation", ["2022", "2023"])
async def test_trackers_management(stand_in: StandInServer, generation: str) -> None:
    vocab = ["what is the price", "how much does it cost", "pricing", "discount", "the customer's budget"]
    async with SymblClient(settings_for(stand_in, trackers_api=generation)) as c:
        one = await c.create_tracker({"name": "Pricing", "vocabulary": vocab})
        more = await c.create_trackers(
            [
                {"name": "Cancel", "vocabulary": ["cancel my plan", "end the contract"]},
                {"name": "Intro", "vocabulary": ["thank you for taking the time"]},
            ]
        )
        assert [t.name for t in more] == ["Cancel", "Intro"]
        assert [t.id for t in await c.list_trackers(name="Cancel")] == [more[0].id]
        assert (await c.get_tracker(one.id)).vocabulary == vocab
        updated = await c.update_tracker(one.id, {"name": "Pricing", "vocabulary": [*vocab[:4], "cost per seat"]})
        assert updated.vocabulary[-1] == "cost per seat"
        with pytest.raises(errors.Conflict, match="already exists"):
            await c.create_tracker({"name": "Pricing", "vocabulary": vocab})
        await c.delete_tracker(one.id)
        with pytest.raises(errors.NotFound):
            await c.get_tracker(one.id)
        with pytest.raises(errors.NotFound):
            await c.delete_tracker(one.id)
    calls = {(r["method"], r["path"].replace(one.id, "{id}")) for r in stand_in.state.requests}
    if generation == "2022":
        expected = {
            ("POST", "/v1/manage/tracker"),
            ("POST", "/v1/manage/trackers"),
            ("GET", "/v1/manage/tracker/{id}"),
            ("PUT", "/v1/manage/tracker/{id}"),
            ("DELETE", "/v1/manage/tracker/{id}"),
        }
    else:
        expected = {
            ("POST", "/v1/manage/trackers"),
            ("POST", "/v1/manage/trackers/bulk"),
            ("PATCH", "/v1/manage/trackers/{id}"),
            ("DELETE", "/v1/manage/trackers/{id}"),
        }
    assert expected <= calls


@pytest.mark.parametrize(
    ("definition", "match"),
    [
        ({"name": "P", "vocabulary": ["price?"]}, "punctuation"),
        ({"name": "P", "vocabulary": ["price, please"]}, "punctuation"),
        ({"name": "P", "vocabulary": ["price", "Price"]}, "duplicate"),
        ({"name": "P", "vocabulary": [f"term {i}" for i in range(51)]}, "vocabulary"),
        ({"name": "", "vocabulary": ["price"]}, "name"),
    ],
)
async def test_tracker_vocabulary_rules(client: SymblClient, definition: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        await client.create_tracker(definition)


# ---- errors and retries -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "cls", "transient"),
    [
        (400, errors.BadRequest, False),
        (403, errors.Forbidden, False),
        (404, errors.NotFound, False),
        (409, errors.Conflict, False),
        (413, errors.PayloadTooLarge, False),
        (429, errors.TooManyJobs, True),
        (500, errors.ServerError, True),
        (502, errors.ServerError, True),
        (418, errors.TerminalError, False),
    ],
)
async def test_status_codes_map_to_errors_carrying_the_request(
    stand_in: StandInServer, status: int, cls: type[errors.SymblError], transient: bool
) -> None:
    stand_in.state.fail(
        f"/v1/conversations/{CONVERSATION}/topics", status, times=99, body={"message": f"provider says {status}"}
    )
    async with SymblClient(settings_for(stand_in, max_retries=0)) as c:
        with pytest.raises(cls) as info:
            await c.get_topics(CONVERSATION)
    err = info.value
    assert (err.status, err.transient, err.method) == (status, transient, "GET")
    assert err.path == f"/v1/conversations/{CONVERSATION}/topics"
    assert err.message == f"provider says {status}"


async def test_transient_failures_are_retried_with_backoff(
    client: SymblClient, stand_in: StandInServer, sleeps: SleepRecorder
) -> None:
    stand_in.state.fail(f"/v1/conversations/{CONVERSATION}/analytics", 503, times=2)
    assert (await client.get_analytics(CONVERSATION)).metrics
    assert len(stand_in.state.calls(f"/v1/conversations/{CONVERSATION}/analytics")) == 3
    assert len(sleeps.delays) == 2
    assert all(0 < d <= 0.05 for d in sleeps.delays)


async def test_retry_after_is_honoured(client: SymblClient, stand_in: StandInServer, sleeps: SleepRecorder) -> None:
    stand_in.state.fail("/v1/job/", 429, headers={"Retry-After": "0.04"})
    ref = await client.submit_audio_url({"url": "https://example.com/a.wav"})
    await client.get_job(ref.job_id)
    assert sleeps.delays == [0.04]


async def test_submissions_are_not_retried_when_the_request_may_have_arrived(
    client: SymblClient, stand_in: StandInServer, sleeps: SleepRecorder
) -> None:
    stand_in.state.fail(
        "/v1/process/audio/url",
        429,
        times=1,
        body={
            "statusCode": 429,
            "message": "This API has a limit of maximum of `X` number of concurrent jobs per account.",
        },
    )
    with pytest.raises(errors.TooManyJobs, match="concurrent jobs"):
        await client.submit_audio_url({"url": "https://example.com/a.wav"})
    stand_in.state.fail("/v1/process/audio/url", 500, times=1)
    with pytest.raises(errors.ServerError):
        await client.submit_audio_url({"url": "https://example.com/a.wav"})
    assert len(stand_in.state.calls("/v1/process/audio/url")) == 2
    assert sleeps.delays == []


async def test_malformed_and_slow_responses(stand_in: StandInServer, sleeps: SleepRecorder) -> None:
    stand_in.state.fail(f"/v1/conversations/{CONVERSATION}/members", 200, times=2, malformed=True)
    async with SymblClient(settings_for(stand_in, max_retries=1), sleep=sleeps) as c:
        with pytest.raises(errors.MalformedResponse, match="not JSON"):
            await c.get_members(CONVERSATION)
    stand_in.state.fail(f"/v1/conversations/{CONVERSATION}/questions", 200, times=1, delay=1.0)
    async with SymblClient(settings_for(stand_in, read_timeout=0.3, max_retries=1), sleep=sleeps) as c:
        questions = await c.get_questions(CONVERSATION)  # the first answer is too slow, the retry is not
    assert questions.questions
    assert len(stand_in.state.calls(f"/v1/conversations/{CONVERSATION}/questions")) == 2


async def test_connection_refused_is_transient_and_retried(sleeps: SleepRecorder) -> None:
    from tests.servers import free_port

    settings = SymblSettings(
        base_url=f"http://127.0.0.1:{free_port()}", token="t", max_retries=2, backoff_initial=0.01, backoff_max=0.02
    )
    async with SymblClient(settings, sleep=sleeps) as c:
        with pytest.raises(errors.ConnectionFailed) as info:
            await c.get_job("j")
        with pytest.raises(errors.ConnectionFailed):
            await c.submit_audio_url({"url": "https://example.com/a.wav"})  # never sent: safe to retry
    assert info.value.transient
    assert len(sleeps.delays) == 4


def test_retry_policy_functions() -> None:
    assert retry_delay(1, initial=1, maximum=30, retry_after="7") == 7
    assert retry_delay(1, initial=1, maximum=5, retry_after="70") == 5
    assert retry_delay(1, initial=1, maximum=30, retry_after="Wed, 21 Oct 2015 07:28:00 GMT") == 0
    for attempt in range(1, 8):
        d = retry_delay(attempt, initial=0.5, maximum=8)
        assert min(8, 0.5 * 2 ** (attempt - 1)) / 2 <= d <= min(8, 0.5 * 2 ** (attempt - 1))
    assert should_retry(errors.ServerError("x"), idempotent=True)
    assert not should_retry(errors.ServerError("x"), idempotent=False)
    assert not should_retry(errors.BadRequest("x"), idempotent=True)
    assert not should_retry(errors.TooManyJobs("x"), idempotent=True, retry_429=False)


@pytest.mark.slow
def test_a_large_upload_streams_with_flat_memory(stand_in: StandInServer, tmp_path: Path) -> None:
    import subprocess
    import sys

    def peak_kib(size: int) -> int:
        path = tmp_path / f"{size}.bin"
        with path.open("wb") as fh:
            fh.truncate(size)
        out = subprocess.run(
            [sys.executable, "-m", "tests.connectors.upload_probe", stand_in.url, str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip().splitlines()[-1])

    small, large = peak_kib(1 << 20), peak_kib(120 << 20)
    uploads = [c["body_bytes"] for c in stand_in.state.calls("/v1/process/audio")]
    assert uploads == [1 << 20, 120 << 20]
    # Reading the file whole would add ≥ 120 MiB; streaming adds about one chunk (1 MiB) plus noise.
    assert large - small < 40 * 1024, f"peak RSS grew by {(large - small) / 1024:.0f} MiB for a 120 MiB upload"


def test_the_documented_example_runs(stand_in: StandInServer, tmp_path: Path) -> None:
    import re
    import subprocess
    import sys

    doc = (Path(__file__).parents[2] / "docs" / "connector.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc, re.S)
    assert code is not None
    script = Path(__file__).parents[2] / "docs" / "example_symbl.py"
    assert code.group(1) in script.read_text(), "docs/example_symbl.py and docs/connector.md differ"
    env = {
        "CALLSCOPE_SYMBL_BASE_URL": stand_in.url,
        "CALLSCOPE_SYMBL_APP_ID": "test-app",
        "CALLSCOPE_SYMBL_APP_SECRET": "test-secret",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, str(script), str(write_wav(tmp_path / "call.wav"))],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "1 messages, 1 members, 1 topics" in out.stdout
    assert "1 summary items" in out.stdout
