"""A worker process: loads the models once, then takes jobs from the durable queue, renewing its lease while it
works. A job that fails is recorded with its reason; a worker that dies leaves a lease that expires, and the job
is resumed by the next worker that looks."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import signal
import threading
import time
from datetime import datetime
from typing import Any

from engine import media
from engine.db import Job, Store
from engine.ids import member_id
from engine.language.analyse import analyse, apply_members, join, resolve_trackers
from engine.language.models import Models
from engine.settings import EngineSettings

PR_SET_PDEATHSIG = 1

log = logging.getLogger("callscope.engine.worker")
MAX_ATTEMPTS = 3


class JobRefused(Exception):
    """A job that cannot succeed, with the reason recorded on it."""


def text_transcript(params: dict[str, Any], conversation_id: str, start_time: float) -> dict[str, Any]:
    """A text submission as a transcript: one member per sender, timings from each message's duration."""
    members: dict[str, dict[str, Any]] = {}
    messages = []
    for message in params["messages"]:
        sender = message.get("from") or {}
        key = sender.get("userId") or sender.get("name") or "unknown"
        mid = member_id(conversation_id, key)
        email = sender.get("userId") if "@" in (sender.get("userId") or "") else None
        members.setdefault(mid, {"id": mid, "name": sender.get("name") or key, "email": email})
        start = end = 0.0
        if message.get("duration"):
            start = datetime.fromisoformat(message["duration"]["startTime"]).timestamp() - start_time
            end = datetime.fromisoformat(message["duration"]["endTime"]).timestamp() - start_time
        content = message["payload"]["content"].strip()
        messages.append({"text": content, "speaker": mid, "start": max(0.0, start), "end": max(0.0, end), "words": []})
    duration = max((m["end"] for m in messages), default=0.0)
    return {"duration": duration, "members": list(members.values()), "messages": messages}


class Worker:
    def __init__(self, settings: EngineSettings, name: str, models: Models | None = None) -> None:
        self.settings = settings
        self.name = name
        self.store = Store(settings.db_url)
        self.models = models or Models()
        self.stopping = threading.Event()

    def transcript_for(self, job: Job, conversation: dict[str, Any]) -> dict[str, Any]:
        if job.kind == "text":
            return text_transcript(job.params, job.conversation_id, conversation["start_time"])
        path = job.media_path or ""
        if job.kind == "audio_url":
            download = self.settings.media_dir / f"{job.id}.download"
            try:
                media.fetch(
                    job.media_url or "",
                    download,
                    allow=self.settings.url_allow_networks,
                    limit=self.settings.max_media_bytes,
                    timeout=self.settings.fetch_timeout,
                )
            except media.MediaRefused as exc:
                raise JobRefused(str(exc)) from None
            path = str(download)
        try:
            from engine.audio import AudioRefused, transcribe
        except ImportError as exc:
            raise JobRefused(f"speech recognition is unavailable in this engine: {exc}") from None
        try:
            return transcribe(path, job.params, job.conversation_id, self.settings)
        except AudioRefused as exc:
            raise JobRefused(str(exc)) from None

    def process(self, job: Job) -> None:
        conversation = self.store.conversation(job.conversation_id, job.app_id)
        if conversation is None:
            self.store.finish(job, self.name, error="conversation deleted")
            return
        if job.attempts > MAX_ATTEMPTS:
            self.store.finish(job, self.name, error=f"the job stopped its worker {MAX_ATTEMPTS} times; not retried")
            return
        try:
            part = self.transcript_for(job, conversation)
            parts = [*self.store.transcripts(job.conversation_id), part]  # earlier completed parts, in order
            transcript = apply_members(join(parts), conversation["members"])
            params = {**conversation["params"], **{k: v for k, v in job.params.items() if v not in (None, [], {})}}
            trackers = resolve_trackers(params, self.store.trackers_of(job.app_id), job.conversation_id)
            body = analyse(
                self.models,
                transcript,
                conversation_id=job.conversation_id,
                start_time=conversation["start_time"],
                params=params,
                tracker_list=trackers,
                tracker_threshold=self.settings.tracker_threshold,
                text_only=conversation["source"] == "text",
            )
        except JobRefused as exc:
            self.store.finish(job, self.name, error=str(exc))
            return
        except Exception as exc:
            log.exception("job %s failed", job.id)
            self.store.finish(job, self.name, error=f"internal error while processing: {type(exc).__name__}")
            return
        if not self.store.finish(job, self.name, transcript=part, analysis=body):
            log.warning("job %s was taken from worker %s before it finished; result discarded", job.id, self.name)

    def run_one(self) -> bool:
        """Take and process one job; False if the queue was empty."""
        job = self.store.claim(self.name, self.settings.job_lease_seconds)
        if job is None:
            return False
        renewing = threading.Event()

        def renew() -> None:
            while not renewing.wait(self.settings.job_lease_seconds / 3):
                if not self.store.renew(job.id, self.name, self.settings.job_lease_seconds):
                    return

        thread = threading.Thread(target=renew, daemon=True)
        thread.start()
        try:
            self.process(job)
        finally:
            renewing.set()
            thread.join()
            _release_memory()
        return True

    def run(self) -> None:
        started = time.monotonic()
        self.models.warm_up()
        try:
            from engine.audio.pipeline import warm_up as warm_audio

            warm_audio(self.settings)
        except ImportError as exc:  # the speech stack is optional; text jobs still run
            log.warning("speech recognition unavailable: %s", exc)
        log.info("worker %s ready in %.1f s", self.name, time.monotonic() - started)
        while not self.stopping.is_set():
            try:
                if not self.run_one():
                    self.stopping.wait(self.settings.worker_poll_interval)
            except Exception:
                log.exception("worker %s: queue error", self.name)
                self.stopping.wait(1.0)


def _release_memory() -> None:
    """Give the memory a finished job freed back to the system (glibc keeps it otherwise, and a worker that ran a
    long call would hold its peak for ever)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _die_with_parent() -> None:
    """Linux: SIGTERM this worker when the engine process dies, however it dies (a worker outliving its engine holds
    about 1 GB and polls a queue nobody serves)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the engine died before the call above
        raise SystemExit(0)


def worker_main(settings: EngineSettings, index: int) -> None:
    """Entry point of a worker process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _die_with_parent()
    worker = Worker(settings, f"w{index}-{os.getpid()}")
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stopping.set())
    worker.run()
