"""Audio through the engine over real HTTP: a stereo call with one speaker per channel recognised and attributed,
and bad files refused with a reason (never a server path)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import unavailable
from tests.engine.audio import make_calls, tools_missing
from tests.engine.servers import EngineProcess

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if reason := tools_missing():
        unavailable(reason)
    return make_calls(tmp_path_factory.mktemp("calls"))


def submit(engine: EngineProcess, path: Path, query: str = "") -> dict[str, str]:
    response = httpx.post(
        f"{engine.url}/v1/process/audio?{query}",
        content=path.read_bytes(),
        headers={"Authorization": f"Bearer {engine.token()}", "Content-Type": "audio/wav"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def finished(engine: EngineProcess, job_id: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {engine.token()}"}
    deadline = time.monotonic() + 180
    while (job := httpx.get(f"{engine.url}/v1/job/{job_id}", headers=headers).json())["status"] not in (
        "completed",
        "failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    return dict(job)


def test_stereo_call_one_speaker_per_channel(engine: EngineProcess, calls: dict[str, Path]) -> None:
    query = (
        "enableSeparateRecognitionPerChannel=true&channelMetadata="
        '[{"channel":1,"speaker":{"name":"Agent","email":"agent@example.com"}},'
        '{"channel":2,"speaker":{"name":"Caller","email":"caller@example.com"}}]'
    )
    ref = submit(engine, calls["stereo"], query)
    assert finished(engine, ref["jobId"])["status"] == "completed"
    headers = {"Authorization": f"Bearer {engine.token()}"}
    base = f"{engine.url}/v1/conversations/{ref['conversationId']}"
    messages = httpx.get(base + "/messages?verbose=true", headers=headers).json()["messages"]
    by_speaker = {
        m["from"]["name"]: " ".join(x["text"] for x in messages if x["from"]["name"] == m["from"]["name"])
        for m in messages
    }
    assert set(by_speaker) == {"Agent", "Caller"}
    assert "biggest problem" in by_speaker["Agent"].lower() and "budget" in by_speaker["Caller"].lower()
    assert all(m["words"] and all(0 <= w["score"] <= 1 for w in m["words"]) for m in messages)
    assert messages[0]["from"]["name"] == "Agent"
    analytics = httpx.get(base + "/analytics", headers=headers).json()
    talk = {m["name"]: m["talkTime"]["seconds"] for m in analytics["members"]}
    assert talk["Agent"] > 3 and talk["Caller"] > 3
    members = httpx.get(base + "/members", headers=headers).json()["members"]
    assert {m.get("email") for m in members} == {"agent@example.com", "caller@example.com"}


@pytest.mark.parametrize(("name", "reason"), [("not-audio", "not a readable audio file"), ("low-rate", "8000 Hz")])
def test_bad_audio_fails_the_job_with_its_reason(
    engine: EngineProcess, calls: dict[str, Path], name: str, reason: str
) -> None:
    job = finished(engine, submit(engine, calls[name])["jobId"])
    assert job["status"] == "failed"
    assert reason in job["message"] and "/" not in job["message"].replace("http://", "")
