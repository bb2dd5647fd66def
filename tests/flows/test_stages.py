"""The stages one at a time against a real engine that runs no jobs (API only, cap 1): the provider's 429 puts a
claim back, a 400 fails the request with the provider's message, a crash between the POST and the commit is
reconciled without a second job, callbacks are authenticated and idempotent, and the SLA check flags stuck jobs."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.recordings import SourceRecording, scan_folder
from flows.context import Pipeline, pipeline
from flows.ingest import register
from flows.settings import PipelineSettings
from flows.sla import check_sla
from flows.status import CallbackResult, callback_token, handle_callback
from flows.submit import reconcile_submitting, submit_pending
from storage import RequestStatus
from storage.models import utcnow
from tests.engine.conftest import need_engine_extra
from tests.engine.servers import EngineProcess
from tests.flows.conftest import symbl_settings
from tests.flows.test_pipeline import engine_jobs

pytestmark = pytest.mark.slow
S = RequestStatus


@pytest.fixture
def idle_engine(tmp_path: Path) -> Iterator[EngineProcess]:
    """A fresh engine API without workers: jobs stay scheduled; the account's cap is 1."""
    need_engine_extra()
    engine = EngineProcess(tmp_path / "idle-engine", workers=0, max_active_jobs=1).start()
    yield engine
    engine.stop()


@pytest.fixture
async def ctx(idle_engine: EngineProcess, tmp_path: Path) -> AsyncIterator[Pipeline]:
    settings = PipelineSettings(storage_url=f"sqlite:///{tmp_path / 's.db'}", work_dir=tmp_path, submit_concurrency=1)
    async with pipeline(settings, symbl_settings(idle_engine), webhook_base="http://127.0.0.1:9/unused") as p:
        yield p


def recordings(corpus: tuple[Path, dict[str, str]], tmp_path: Path, n: int) -> list[SourceRecording]:
    folder, kinds = corpus
    picked = [name for name, kind in kinds.items() if kind in ("mono", "stereo")][:n]
    own = tmp_path / "in"
    own.mkdir()
    for name in picked:
        shutil.copy(folder / name, own / name)
    return scan_folder(own)


async def test_429_releases_the_claim_and_400_fails_with_the_providers_message(
    ctx: Pipeline, idle_engine: EngineProcess, corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    items = recordings(corpus, tmp_path, 4)

    def with_entry(i: int, **update: object) -> None:
        item = items[i]
        items[i] = SourceRecording(item.path, item.source_uri, item.file_name, item.entry.model_copy(update=update))

    with_entry(0, speaker_count=25)  # the engine diarizes up to 20 speakers: its 400 is terminal
    with_entry(1, language_code="xx-XX")  # refused by the client before sending
    regs = [i.registration for i in await register(ctx, items)]
    outcome = await submit_pending(ctx)
    assert outcome == {"failed": 2, "submitted": 1, "released": 1}, outcome
    provider_400, client_refused, second, third = [
        (await ctx.repo.requests_for(r.recording.id))[0] for r in regs if r is not None
    ]
    assert provider_400.status == S.FAILED
    assert "diarizationSpeakerCount" in (provider_400.last_error or ""), provider_400.last_error
    assert client_refused.status == S.FAILED and "xx-XX" in (client_refused.last_error or "")
    assert second.status == S.SCHEDULED and second.job_id
    assert third.status == S.PENDING and third.attempts == 1  # released, not failed
    assert "provider at its cap" in (third.history[-1].note or "")


async def test_a_crash_between_post_and_commit_is_reconciled_without_a_second_job(
    ctx: Pipeline, idle_engine: EngineProcess, corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    (item,) = recordings(corpus, tmp_path, 1)
    await register(ctx, [item])
    (claimed,) = await ctx.repo.claim(1)
    # The submitter POSTs with the stored key, then dies before it can record the ids.
    before = len(engine_jobs(idle_engine))
    ref = await ctx.client.submit_audio_file(item.path, idempotency_key=claimed.idempotency_key)
    assert len(engine_jobs(idle_engine)) == before + 1
    outcome = await reconcile_submitting(ctx, older_than=0)
    assert outcome == {"submitted": 1}
    (after,) = await ctx.repo.requests_for(claimed.recording_id)
    assert (after.status, after.job_id, after.conversation_id) == (S.SCHEDULED, ref.job_id, ref.conversation_id)
    assert len(engine_jobs(idle_engine)) == before + 1  # the engine answered the repeat with the same job


async def test_callbacks_are_authenticated_hints_and_idempotent(
    ctx: Pipeline, corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    (item,) = recordings(corpus, tmp_path, 1)
    (ingested,) = await register(ctx, [item])
    assert ingested.registration
    req = ingested.registration.requests[0]
    token = callback_token(req)
    for forged in (
        "no-such-token",
        f"{req.id}.wrong-secret",
        f"{req.id}.",
        req.webhook_token,
        f"x.{req.webhook_token}",
    ):
        outcome = await handle_callback(ctx, forged, {"jobId": "x", "status": "completed"})
        assert outcome.result == CallbackResult.UNKNOWN_TOKEN, forged
    assert (await handle_callback(ctx, token, ["junk"])).result == CallbackResult.INVALID
    assert (await handle_callback(ctx, token, {"jobId": 5})).result == CallbackResult.INVALID

    # The webhook outruns the submitter: the handler waits for the job id, then re-reads the job.
    (claimed,) = await ctx.repo.claim(1)
    ref = await ctx.client.submit_audio_file(item.path, idempotency_key=claimed.idempotency_key)
    early = asyncio.create_task(
        handle_callback(ctx, token, {"jobId": ref.job_id, "status": "scheduled"}, lookup_delay=0.2)
    )
    await asyncio.sleep(0.3)
    await ctx.repo.transition(req.id, S.SCHEDULED, job_id=ref.job_id, conversation_id=ref.conversation_id)
    assert (await early).result == CallbackResult.APPLIED
    settled = await ctx.repo.get_request(req.id)
    assert settled is not None
    for status in ("completed", "scheduled", "in_progress"):  # lies and re-orders: the job says scheduled
        outcome = await handle_callback(ctx, token, {"jobId": ref.job_id, "status": status})
        assert (outcome.result, outcome.moved) == (CallbackResult.APPLIED, False)
    again = await ctx.repo.get_request(req.id)
    assert again is not None and (again.status, again.version) == (S.SCHEDULED, settled.version)
    other = {"jobId": "00000000-0000-0000-0000-000000000000", "status": "completed"}
    assert (await handle_callback(ctx, token, other)).result == CallbackResult.JOB_MISMATCH


async def test_the_sla_check_flags_a_job_running_past_its_share_of_the_recording(
    ctx: Pipeline, corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    (item,) = recordings(corpus, tmp_path, 1)
    (ingested,) = await register(ctx, [item])
    assert ingested.registration
    duration = ingested.registration.recording.duration_s
    await submit_pending(ctx)
    (req,) = await ctx.repo.requests_for(ingested.registration.recording.id)
    assert req.status == S.SCHEDULED and req.submitted_at
    early = await check_sla(ctx, now=req.submitted_at + timedelta(seconds=0.3 * duration))
    assert early.flagged == [] and early.reconciled == []
    late = await check_sla(ctx, now=req.submitted_at + timedelta(seconds=0.5 * duration))
    assert [b.request_id for b in late.flagged] == [req.id] and late.flagged[0].ratio == pytest.approx(0.5, abs=0.01)
    assert "| " + req.id in late.markdown()
    assert utcnow() > req.submitted_at
