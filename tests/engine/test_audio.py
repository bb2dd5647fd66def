"""Audio through the engine over real HTTP: calls with one speaker per channel or diarized from a mono mix, scored
against their script (word error rate, speaker attribution, talk time, overlap); telephone audio in phone mode; long
audio recognised in windows; bad files refused with a reason (never a server path)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import unavailable
from tests.engine.audio import Conversation, dialogue, make_calls, make_conversation, tools_missing
from tests.engine.conftest import need_engine_extra
from tests.engine.scoring import score
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


# ---- Calls with known truth: accuracy, overlap, long files in windows, telephone audio ---------------------------


@pytest.fixture(scope="module")
def dialog(tmp_path_factory: pytest.TempPathFactory) -> Conversation:
    """About 1.5 minutes, two voices, an interruption every fifth turn."""
    if reason := tools_missing():
        unavailable(reason)
    return make_conversation(tmp_path_factory.mktemp("dialog"), dialogue(1.5, seed=7), overlap_every=5)


def result_of(engine: EngineProcess, path: Path, query: str) -> tuple[list[dict[str, Any]], dict[str, Any], float]:
    ref = submit(engine, path, query)
    job = finished(engine, ref["jobId"])
    assert job["status"] == "completed", job
    headers = {"Authorization": f"Bearer {engine.token()}"}
    base = f"{engine.url}/v1/conversations/{ref['conversationId']}"
    messages = httpx.get(base + "/messages?verbose=true", headers=headers).json()["messages"]
    analytics = httpx.get(base + "/analytics", headers=headers).json()
    overlap = next(m["seconds"] for m in analytics["metrics"] if m["type"] == "total_overlap")
    return messages, analytics, overlap


PER_CHANNEL = "enableSeparateRecognitionPerChannel=true"
DIARIZED = "enableSpeakerDiarization=true&diarizationSpeakerCount=2"


def test_per_channel_call_measures_true_overlap(engine: EngineProcess, dialog: Conversation) -> None:
    messages, analytics, overlap = result_of(engine, dialog.files["stereo"], PER_CHANNEL)
    result = score(dialog, messages, analytics)
    assert result.wer < 0.15 and result.attribution is not None and result.attribution > 0.95, result
    assert result.talk_time_error is not None and result.talk_time_error < 0.1, result
    # Both channels are recognised on their own, so the interruptions appear as overlapping speech.
    assert dialog.overlap() > 2 and abs(overlap - dialog.overlap()) < 0.25 * dialog.overlap() + 0.3, (overlap, dialog)


def test_mono_call_is_diarized_into_two_speakers(engine: EngineProcess, dialog: Conversation) -> None:
    messages, analytics, _ = result_of(engine, dialog.files["mono"], DIARIZED)
    result = score(dialog, messages, analytics)
    assert len({m["from"]["id"] for m in messages}) == 2
    assert result.wer < 0.15 and result.attribution is not None and result.attribution > 0.85, result


def test_telephone_call_in_phone_mode(engine: EngineProcess, dialog: Conversation) -> None:
    messages, analytics, _ = result_of(engine, dialog.files["stereo-8k"], PER_CHANNEL + "&mode=phone")
    result = score(dialog, messages, analytics)
    assert result.wer < 0.35 and result.attribution is not None and result.attribution > 0.95, result


def test_phone_mode_fills_the_band_above_the_telephone_cut_off(dialog: Conversation) -> None:
    from engine.audio.decode import open_audio
    from engine.audio.phone import enhance

    with open_audio(str(dialog.files["mono-8k"]), 3600) as source:
        audio = next(source.blocks(20))[0]
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    enhanced = np.abs(np.fft.rfft(enhance(audio))) ** 2
    high = np.fft.rfftfreq(len(audio), 1 / 16_000) > 4200
    assert enhanced[high].sum() > 100 * spectrum[high].sum()  # the 8 kHz copy has (almost) nothing up there


@pytest.fixture(scope="module")
def windowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """An engine that recognises in 30-s windows: a 1.5-minute call crosses at least two cuts."""
    need_engine_extra()
    process = EngineProcess(tmp_path_factory.mktemp("windowed"), workers=1, audio_window_seconds=30).start()
    yield process
    process.stop()


@pytest.mark.parametrize("query", [PER_CHANNEL, DIARIZED])
def test_long_audio_in_windows_loses_and_repeats_nothing(
    windowed: EngineProcess, dialog: Conversation, query: str
) -> None:
    kind = "stereo" if query == PER_CHANNEL else "mono"
    messages, analytics, _ = result_of(windowed, dialog.files[kind], query)
    result = score(dialog, messages, analytics)
    assert result.wer < 0.15, result  # a word lost or repeated at every cut would show here
    words = [w for m in messages for w in m["words"]]
    starts = [w["timeOffset"] for w in sorted(words, key=lambda w: w["timeOffset"])]
    assert starts[-1] > dialog.duration - 8, "the last window's words are there, at their place in the call"
    assert result.attribution is not None and result.attribution > 0.85, result


def test_english_only_model_refuses_other_languages_up_front(engine: EngineProcess, calls: dict[str, Path]) -> None:
    response = httpx.post(
        f"{engine.url}/v1/process/audio?languageCode=de-DE",
        content=calls["stereo"].read_bytes(),
        headers={"Authorization": f"Bearer {engine.token()}", "Content-Type": "audio/wav"},
    )
    assert response.status_code == 400 and "multilingual" in response.json()["message"], response.text
