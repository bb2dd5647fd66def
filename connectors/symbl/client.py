"""An async client for the Symbl API: one thin method per endpoint over typed models, retries and deadlines built in.

Submissions (``submit_*``) return ids at once; ``wait`` polls the Job API with an interval and a deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from connectors.symbl import models as m
from connectors.symbl.auth import TokenProvider
from connectors.symbl.errors import (
    ConnectionFailed,
    JobFailed,
    MalformedResponse,
    NotFound,
    RequestTimeout,
    SymblError,
    WaitDeadlineExceeded,
    error_for_status,
)
from connectors.symbl.retry import retry_delay, should_retry
from connectors.symbl.settings import SymblSettings

log = logging.getLogger("callscope.symbl")
M = TypeVar("M", bound=BaseModel)
Sleep = Callable[[float], Awaitable[None]]
ContentFactory = Callable[[], AsyncIterator[bytes]]

TERMINAL_JOB_STATUSES = frozenset({"completed", "failed"})


def sniff_content_type(path: Path) -> str | None:
    """The Content-Type Symbl accepts for this file's real format (wav or mp3), or None to let the server detect it.

    Symbl takes only audio/wav, audio/wave, audio/mpeg and audio/mp3 and asks callers to omit the header otherwise.
    """
    with path.open("rb") as fh:
        head = fh.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


class SymblClient:
    """``async with SymblClient(settings) as client: ...``. Safe to share between tasks."""

    def __init__(
        self,
        settings: SymblSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings or SymblSettings()
        s = self.settings
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=s.api_root,
            timeout=httpx.Timeout(
                connect=s.connect_timeout, read=s.read_timeout, write=s.write_timeout, pool=s.connect_timeout
            ),
            transport=transport,
            headers={"User-Agent": "callscope-symbl/0.1"},
            follow_redirects=False,
        )
        generate = self.generate_token if s.app_id and s.app_secret else None
        self.auth = TokenProvider(generate=generate, static=s.token, refresh_margin=s.token_refresh_margin)

    def __repr__(self) -> str:
        return f"SymblClient(base_url={self.settings.api_root!r}, auth={self.auth!r})"

    async def __aenter__(self) -> SymblClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- transport ----------------------------------------------------------------------------------------------
    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        content: ContentFactory | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retry_429: bool = True,
        authenticated: bool = True,
    ) -> httpx.Response:
        """One API call: auth header, retries of transient failures, one token renewal on a 401, typed errors."""
        s = self.settings
        renewed = False
        attempt = 0
        while True:
            hdrs = dict(headers or {})
            token = ""
            if authenticated:
                token = await self.auth.token()
                hdrs["Authorization"] = f"Bearer {token}"
            try:
                resp = await self._http.request(
                    method, path, json=json_body, params=params, headers=hdrs, content=content() if content else None
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                err: SymblError = ConnectionFailed(
                    f"cannot connect: {exc!r}", before_send=True, method=method, path=path
                )
                retry_after = None
            except httpx.TimeoutException as exc:
                err, retry_after = RequestTimeout(f"timed out: {exc!r}", method=method, path=path), None
            except httpx.TransportError as exc:
                err, retry_after = ConnectionFailed(f"connection broke: {exc!r}", method=method, path=path), None
            else:
                if resp.is_success:
                    return resp
                if resp.status_code == 401 and authenticated and self.auth.renewable and not renewed:
                    renewed = True
                    await self.auth.invalidate(token)
                    log.info("%s %s: 401, renewing the access token once", method, path)
                    continue
                err = error_for_status(resp.status_code, _message(resp), method=method, path=path, body=_body(resp))
                retry_after = resp.headers.get("Retry-After")
            attempt += 1
            if attempt > s.max_retries or not should_retry(err, idempotent=idempotent, retry_429=retry_429):
                raise err
            delay = retry_delay(attempt, initial=s.backoff_initial, maximum=s.backoff_max, retry_after=retry_after)
            log.warning("%s; retry %d/%d in %.2fs", err, attempt, s.max_retries, delay)
            await self._sleep(delay)

    async def _call(self, model: Any, method: str, path: str, **kwargs: Any) -> Any:
        """``_send`` and parse the JSON body as ``model`` (a model class or a type for TypeAdapter)."""
        resp = await self._send(method, path, **kwargs)
        try:
            data = resp.json()
        except json.JSONDecodeError as exc:
            raise MalformedResponse(
                f"not JSON: {resp.text[:200]!r}", status=resp.status_code, method=method, path=path
            ) from exc
        try:
            if isinstance(model, type) and issubclass(model, BaseModel):
                return model.model_validate(data)
            return TypeAdapter(model).validate_python(data)
        except ValidationError as exc:
            raise MalformedResponse(
                f"unexpected shape: {exc.errors()[0]}", status=resp.status_code, method=method, path=path, body=data
            ) from exc

    # ---- auth -----------------------------------------------------------------------------------------------------
    async def generate_token(self) -> m.Token:
        """``POST /oauth2/token:generate`` with the configured app id and secret."""
        s = self.settings
        if not (s.app_id and s.app_secret):
            raise SymblError("app_id and app_secret are not configured")
        body = {"type": "application", "appId": s.app_id, "appSecret": s.app_secret.get_secret_value()}
        result: m.Token = await self._call(
            m.Token, "POST", "/oauth2/token:generate", json_body=body, authenticated=False
        )
        return result

    # ---- Async API --------------------------------------------------------------------------------------------
    async def submit_audio_file(
        self,
        path: str | os.PathLike[str],
        options: m.ProcessOptions | Mapping[str, Any] | None = None,
        *,
        conversation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> m.JobRef:
        """``POST /v1/process/audio`` (or ``PUT …/{conversationId}`` to append), streaming the file from disk.

        ``idempotency_key`` (every ``submit_*``): sent as the ``Idempotency-Key`` header. callscope's engine answers a
        repeat with the first job instead of creating another, so a submission with a key is retried like any
        idempotent call; an endpoint that ignores the header gets the no-duplicate retry rule instead."""
        file = Path(path)
        opts = _options(m.ProcessOptions, options)
        try:
            size = (await asyncio.to_thread(file.stat)).st_size
        except OSError as exc:
            raise SymblError(f"cannot read {file}: {exc.strerror}") from exc
        if size == 0:
            raise SymblError(f"{file} is empty")
        headers = {"Content-Length": str(size)}
        ctype = await asyncio.to_thread(sniff_content_type, file)
        if ctype:
            headers["Content-Type"] = ctype
        chunk = self.settings.upload_chunk_size

        async def stream() -> AsyncIterator[bytes]:
            fh = await asyncio.to_thread(file.open, "rb")
            try:
                while block := await asyncio.to_thread(fh.read, chunk):
                    yield block
            finally:
                fh.close()

        return await self._submit(
            "/v1/process/audio",
            conversation_id,
            idempotency_key,
            params=opts.query(),
            content=stream,
            headers=headers,
        )

    async def submit_audio_url(
        self,
        request: m.AudioUrlRequest | Mapping[str, Any],
        *,
        conversation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> m.JobRef:
        """``POST /v1/process/audio/url`` (or ``PUT …/{conversationId}``)."""
        req = _options(m.AudioUrlRequest, request)
        return await self._submit("/v1/process/audio/url", conversation_id, idempotency_key, json_body=req.wire())

    async def submit_text(
        self,
        request: m.TextRequest | Mapping[str, Any],
        *,
        conversation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> m.JobRef:
        """``POST /v1/process/text`` (or ``PUT …/{conversationId}``)."""
        req = _options(m.TextRequest, request)
        return await self._submit("/v1/process/text", conversation_id, idempotency_key, json_body=req.wire())

    async def _submit(
        self, base: str, conversation_id: str | None, idempotency_key: str | None, **kwargs: Any
    ) -> m.JobRef:
        """POST ``base`` (a new conversation) or PUT ``base/{conversationId}`` (append). Without an idempotency key,
        never retried once the request may have arrived; a 429 is always left to the caller (see ``should_retry``)."""
        method, path = ("PUT", f"{base}/{conversation_id}") if conversation_id else ("POST", base)
        if idempotency_key is not None:
            kwargs["headers"] = {**kwargs.get("headers", {}), "Idempotency-Key": idempotency_key}
        result: m.JobRef = await self._call(
            m.JobRef, method, path, idempotent=idempotency_key is not None, retry_429=False, **kwargs
        )
        return result

    # ---- Job API ------------------------------------------------------------------------------------------------
    async def get_job(self, job_id: str) -> m.Job:
        result: m.Job = await self._call(m.Job, "GET", f"/v1/job/{job_id}")
        return result

    async def wait(
        self, job_id: str, *, interval: float = 5.0, deadline: float = 3600.0, raise_on_failure: bool = True
    ) -> m.Job:
        """Poll the job until it completes or fails, at most ``deadline`` seconds.

        Raises :class:`WaitDeadlineExceeded` (with the job id and last status) when the deadline passes — the job
        itself goes on — and :class:`JobFailed` when it fails (unless ``raise_on_failure`` is False).
        """
        if interval <= 0 or deadline <= 0:
            raise ValueError("interval and deadline must be > 0")
        start = time.monotonic()
        last: str | None = None
        while True:
            job = await self.get_job(job_id)
            last = job.status
            if job.status in TERMINAL_JOB_STATUSES:
                if job.status == "failed" and raise_on_failure:
                    raise JobFailed(job_id)
                return job
            waited = time.monotonic() - start
            if waited + interval > deadline:
                raise WaitDeadlineExceeded(job_id, last, waited)
            await self._sleep(interval)

    # ---- Conversation API -------------------------------------------------------------------------------------
    async def list_conversations(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
    ) -> m.Conversations:
        params = {
            k: str(v)
            for k, v in {
                "limit": limit,
                "offset": offset,
                "order": order,
                "startTime": start_time,
                "endTime": end_time,
            }.items()
            if v is not None
        }
        result: m.Conversations = await self._call(m.Conversations, "GET", "/v1/conversations", params=params)
        return result

    async def get_conversation(self, conversation_id: str) -> m.Conversation:
        result: m.Conversation = await self._call(m.Conversation, "GET", f"/v1/conversations/{conversation_id}")
        return result

    async def update_conversation(self, conversation_id: str, metadata: Mapping[str, Any]) -> m.ConversationMetadata:
        result: m.ConversationMetadata = await self._call(
            m.ConversationMetadata, "PUT", f"/v1/conversations/{conversation_id}", json_body={"metadata": metadata}
        )
        return result

    async def delete_conversation(self, conversation_id: str) -> m.MessageResponse:
        result: m.MessageResponse = await self._call(
            m.MessageResponse, "DELETE", f"/v1/conversations/{conversation_id}"
        )
        return result

    async def get_messages(self, conversation_id: str, *, verbose: bool = False, sentiment: bool = False) -> m.Messages:
        params = {"verbose": _bool(verbose), "sentiment": _bool(sentiment)}
        result: m.Messages = await self._call(
            m.Messages, "GET", f"/v1/conversations/{conversation_id}/messages", params=params
        )
        return result

    async def get_members(self, conversation_id: str) -> m.Members:
        result: m.Members = await self._call(m.Members, "GET", f"/v1/conversations/{conversation_id}/members")
        return result

    async def update_member(
        self, conversation_id: str, member_id: str, *, name: str, email: str | None = None
    ) -> m.MessageResponse:
        body = {"id": member_id, "name": name} | ({"email": email} if email else {})
        result: m.MessageResponse = await self._call(
            m.MessageResponse, "PUT", f"/v1/conversations/{conversation_id}/members/{member_id}", json_body=body
        )
        return result

    async def get_topics(self, conversation_id: str, *, sentiment: bool = False, parent_refs: bool = False) -> m.Topics:
        if sentiment and parent_refs:
            raise ValueError("topics: sentiment and parentRefs are not supported together")
        params = {"sentiment": _bool(sentiment), "parentRefs": _bool(parent_refs)}
        result: m.Topics = await self._call(
            m.Topics, "GET", f"/v1/conversations/{conversation_id}/topics", params=params
        )
        return result

    async def get_questions(self, conversation_id: str) -> m.Questions:
        result: m.Questions = await self._call(m.Questions, "GET", f"/v1/conversations/{conversation_id}/questions")
        return result

    async def get_follow_ups(self, conversation_id: str) -> m.FollowUps:
        result: m.FollowUps = await self._call(m.FollowUps, "GET", f"/v1/conversations/{conversation_id}/follow-ups")
        return result

    async def get_action_items(self, conversation_id: str) -> m.ActionItems:
        result: m.ActionItems = await self._call(
            m.ActionItems, "GET", f"/v1/conversations/{conversation_id}/action-items"
        )
        return result

    async def get_insights(self, conversation_id: str) -> m.Insights:
        result: m.Insights = await self._call(m.Insights, "GET", f"/v1/conversations/{conversation_id}/insights")
        return result

    async def get_analytics(self, conversation_id: str) -> m.Analytics:
        result: m.Analytics = await self._call(m.Analytics, "GET", f"/v1/conversations/{conversation_id}/analytics")
        return result

    async def get_trackers_detected(self, conversation_id: str) -> list[m.DetectedTracker]:
        """The detected trackers (a top-level JSON array)."""
        result: list[m.DetectedTracker] = await self._call(
            list[m.DetectedTracker], "GET", f"/v1/conversations/{conversation_id}/trackers-detected"
        )
        return result

    async def get_entities(self, conversation_id: str) -> m.Entities:
        result: m.Entities = await self._call(m.Entities, "GET", f"/v1/conversations/{conversation_id}/entities")
        return result

    async def get_summary(
        self, conversation_id: str, *, refresh: bool = False, grace: float = 0.0, interval: float = 2.0
    ) -> m.Summary:
        """The summary. While the job runs the API answers 404; with ``grace`` > 0 that 404 is retried for up to
        ``grace`` seconds before it is raised."""
        start = time.monotonic()
        params = {"refresh": "true"} if refresh else None
        while True:
            try:
                result: m.Summary = await self._call(
                    m.Summary, "GET", f"/v1/conversations/{conversation_id}/summary", params=params
                )
                return result
            except NotFound:
                if time.monotonic() - start + interval > grace:
                    raise
                await self._sleep(interval)

    async def get_transcript(
        self,
        conversation_id: str,
        *,
        content_type: Literal["text/markdown", "text/srt"] = "text/markdown",
        create_paragraphs: bool = True,
        show_speaker_separation: bool = True,
    ) -> m.Transcript:
        body = {
            "contentType": content_type,
            "createParagraphs": create_paragraphs,
            "showSpeakerSeparation": show_speaker_separation,
        }
        result: m.Transcript = await self._call(
            m.Transcript, "POST", f"/v1/conversations/{conversation_id}/transcript", json_body=body
        )
        return result

    # ---- Experience API ---------------------------------------------------------------------------------------
    async def create_experience(
        self, conversation_id: str, request: m.ExperienceRequest | Mapping[str, Any]
    ) -> m.Experience:
        req = _options(m.ExperienceRequest, request)
        result: m.Experience = await self._call(
            m.Experience, "POST", f"/v1/conversations/{conversation_id}/experiences", json_body=req.wire()
        )
        return result

    # ---- Trackers Management API (2022 singular paths + PUT, or 2023 plural + bulk + PATCH) ----------------------
    @property
    def _v2023(self) -> bool:
        return self.settings.trackers_api == "2023"

    async def create_tracker(self, tracker: m.TrackerDefinition | Mapping[str, Any]) -> m.Tracker:
        body = _options(m.TrackerDefinition, tracker).wire()
        path = "/v1/manage/trackers" if self._v2023 else "/v1/manage/tracker"
        result: m.Tracker = (await self._call(_Wrapped, "POST", path, json_body=body, retry_429=True)).tracker
        return result

    async def create_trackers(self, trackers: list[m.TrackerDefinition | Mapping[str, Any]]) -> list[m.Tracker]:
        body = [_options(m.TrackerDefinition, t).wire() for t in trackers]
        path = "/v1/manage/trackers/bulk" if self._v2023 else "/v1/manage/trackers"
        result: list[m.Tracker] = (await self._call(_WrappedList, "POST", path, json_body=body)).trackers
        return result

    async def list_trackers(self, *, name: str | None = None) -> list[m.Tracker]:
        params = {"name": name} if name else None
        result: list[m.Tracker] = (await self._call(_WrappedList, "GET", "/v1/manage/trackers", params=params)).trackers
        return result

    async def get_tracker(self, tracker_id: str) -> m.Tracker:
        if self._v2023:  # the 2023 surface has no get-by-id: list and pick
            for tracker in await self.list_trackers():
                if tracker.id == tracker_id:
                    return tracker
            raise NotFound(f"no tracker {tracker_id}", status=404, method="GET", path="/v1/manage/trackers")
        result: m.Tracker = (await self._call(_Wrapped, "GET", f"/v1/manage/tracker/{tracker_id}")).tracker
        return result

    async def update_tracker(self, tracker_id: str, tracker: m.TrackerDefinition | Mapping[str, Any]) -> m.Tracker:
        """Replace a tracker's definition (2022: PUT; 2023: PATCH with replace operations)."""
        definition = _options(m.TrackerDefinition, tracker).wire()
        if self._v2023:
            ops = [{"op": "replace", "path": f"/{k}", "value": v} for k, v in definition.items()]
            result: m.Tracker = (
                await self._call(_Wrapped, "PATCH", f"/v1/manage/trackers/{tracker_id}", json_body=ops)
            ).tracker
            return result
        body = {"id": tracker_id, **definition}
        result = (await self._call(_Wrapped, "PUT", f"/v1/manage/tracker/{tracker_id}", json_body=body)).tracker
        return result

    async def delete_tracker(self, tracker_id: str) -> None:
        path = f"/v1/manage/trackers/{tracker_id}" if self._v2023 else f"/v1/manage/tracker/{tracker_id}"
        await self._send("DELETE", path)


class _Wrapped(m.ApiModel):
    tracker: m.Tracker


class _WrappedList(m.ApiModel):
    trackers: list[m.Tracker]


def _options(model: type[M], value: M | Mapping[str, Any] | None) -> M:
    """Validate request parameters before anything is sent; errors name the field."""
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(dict(value or {}))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or model.__name__}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid {model.__name__}: {problems}") from exc


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _body(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text[:500]


def _message(resp: httpx.Response) -> str:
    body = _body(resp)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(body)[:200] or resp.reason_phrase
