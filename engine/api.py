"""The engine's HTTP API: Symbl's Auth, Async, Job, Conversation, Experience and Trackers Management endpoints with
Symbl's status codes and ``{"message": …}`` bodies. Blocking database calls run in worker threads."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import media, views
from engine.auth import AuthError, Tokens
from engine.db import CapReached, DuplicateTracker, Job, Store, UnknownConversation
from engine.ids import job_id as new_media_name
from engine.language.dates import iso
from engine.latency import run_latency_model
from engine.params import (
    AudioParams,
    AudioUrlParams,
    BadRequest,
    TextParams,
    Wire,
    check_phrase,
    message_for,
    parse_body,
    parse_query,
)
from engine.report import page as report_page
from engine.settings import EngineSettings
from engine.webhooks import deliver_forever

T = TypeVar("T")
NO_CONVERSATION = "The conversationId is either invalid or does not exist."
CAP_MESSAGE = (
    "This API has a limit of maximum of `X` number of concurrent jobs per account. If you are looking to scale, and "
    "need more concurrent jobs than this limit, please contact us at support@symbl.ai"
)
PUBLIC = ("/oauth2/token:generate", "/docs", "/redoc", "/openapi.json", "/health", "/reports/")
MAX_TRACKERS = 500
MAX_MANAGEMENT_BODY = 1 << 20


class SymblError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status)


class TokenRequest(BaseModel):
    type: str = Field(pattern="^application$")
    app_id: str = Field(alias="appId", min_length=1)
    app_secret: str = Field(alias="appSecret", min_length=1)


class TrackerBody(Wire):
    """A managed tracker, either generation (2023 adds description, categories, languages)."""

    id: str | None = None
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    categories: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=lambda: ["en-US"])
    vocabulary: list[str] = Field(min_length=5, max_length=50)
    exclude_vocabulary: list[str] = Field(default_factory=list, max_length=50)

    def checked(self) -> dict[str, Any]:
        for phrase in self.vocabulary + self.exclude_vocabulary:
            check_phrase(phrase)
        lowered = [p.strip().lower() for p in self.vocabulary]
        if len(set(lowered)) != len(lowered):
            raise ValueError("vocabulary may not repeat a phrase")
        return self.model_dump(by_alias=True, exclude={"id"})


class MemberBody(Wire):
    id: str
    name: str = Field(min_length=1, max_length=200)
    email: str | None = None


class SpeakerEvent(Wire):
    type: str = Field(pattern="^(started_speaking|stopped_speaking)$")
    user: dict[str, Any]
    offset: dict[str, float]


class SpeakersBody(Wire):
    speaker_events: list[SpeakerEvent] = Field(min_length=1)


class TranscriptBody(Wire):
    content_type: str = Field(default="text/markdown", pattern="^text/(markdown|srt)$")
    create_paragraphs: bool = False
    phrases: dict[str, bool] | None = None
    show_speaker_separation: bool = True


class ExperienceBody(Wire):
    name: str = Field(pattern="^(verbose-text-summary|video-summary|audio-summary)$")
    audio_url: str | None = Field(default=None, validation_alias="audioUrl")
    video_url: str | None = None
    logo: str | None = None
    favicon: str | None = None
    color: dict[str, str] | None = None
    font: dict[str, str] | None = None
    summary_url_expires_in: int | None = Field(default=None, ge=0, alias="summaryURLExpiresIn")
    read_only: bool = False
    enable_custom_domain: bool = False


def create_app(settings: EngineSettings, store: Store, key: str) -> FastAPI:
    """The API over ``store``; ``key`` signs tokens and report links."""
    tokens = Tokens(store, key, settings.token_lifetime)

    async def db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        background = [asyncio.create_task(deliver_forever(store, settings))]
        if settings.benchmark_latency_model is not None:
            background.append(asyncio.create_task(run_latency_model(store, settings.benchmark_latency_model)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="callscope engine",
        description="A local service speaking Symbl.ai's Async, Job, Conversation, Experience and Trackers API.",
        version="1",
        lifespan=lifespan,
    )

    @app.exception_handler(SymblError)
    async def _symbl(_r: Request, exc: SymblError) -> JSONResponse:
        return _error(exc.status, exc.message, **exc.extra)

    @app.exception_handler(BadRequest)
    async def _bad(_r: Request, exc: BadRequest) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "request"
        return _error(400, f'"{where}" {first["msg"]}')

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Callable[[Request], Any]) -> Response:
        path = request.url.path
        if not path.startswith(PUBLIC) and path != "/":
            try:
                request.state.app_id = tokens.verify(
                    request.headers.get("authorization"), request.headers.get("x-api-key")
                )
            except AuthError as exc:
                return _error(401, exc.message)
        return await call_next(request)

    async def json_body(request: Request, limit: int | None = None) -> Any:
        raw = await request.body()
        if limit is not None and len(raw) > limit:
            raise SymblError(413, f"The request body is larger than {limit} bytes.")
        try:
            return json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest("the request body is not valid JSON") from None

    # ---- health and auth ---------------------------------------------------------------------------------------

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/oauth2/token:generate", tags=["auth"])
    async def token_generate(request: Request) -> JSONResponse:
        body = await json_body(request)
        try:
            credentials = TokenRequest.model_validate(body)
        except ValidationError as exc:
            return _error(400, message_for(exc))
        try:
            token, expires_in = await db(tokens.issue, credentials.app_id, credentials.app_secret)
        except AuthError as exc:
            return _error(401, exc.message)
        return JSONResponse({"accessToken": token, "expiresIn": expires_in})

    # ---- Async API ---------------------------------------------------------------------------------------------

    def idempotency_key(request: Request) -> str | None:
        key = request.headers.get("idempotency-key")
        if key is not None and not (1 <= len(key) <= 200 and key.isprintable()):
            raise BadRequest("the Idempotency-Key header must be 1 to 200 printable characters")
        return key

    def created(job: Job, new: bool = True) -> JSONResponse:
        headers = {} if new else {"Idempotent-Replayed": "true"}
        return JSONResponse({"conversationId": job.conversation_id, "jobId": job.id}, status_code=201, headers=headers)

    async def replayed(request: Request) -> JSONResponse | None:
        """The earlier answer when this Idempotency-Key was used before (checked before reading an upload)."""
        key = idempotency_key(request)
        earlier = await db(store.job_by_key, request.state.app_id, key) if key else None
        return None if earlier is None else created(earlier, new=False)

    async def admit(request: Request, cid: str | None, kind: str, params: dict[str, Any], **kw: Any) -> JSONResponse:
        try:
            job, new = await db(
                store.submit,
                app_id=request.state.app_id,
                conversation_id=cid,
                kind=kind,
                params=params,
                cap=settings.max_active_jobs,
                idempotency_key=idempotency_key(request),
                **kw,
            )
        except CapReached:
            await db(media.remove, [kw["media_path"]] if kw.get("media_path") else [])
            raise SymblError(429, CAP_MESSAGE, statusCode=429) from None
        except UnknownConversation:
            await db(media.remove, [kw["media_path"]] if kw.get("media_path") else [])
            raise SymblError(404, NO_CONVERSATION) from None
        if not new and kw.get("media_path"):  # a concurrent repeat won: this copy of the upload is not needed
            await db(media.remove, [kw["media_path"]])
        return created(job, new)

    def start_of(params: Any) -> float | None:
        moment = getattr(params, "start_time", None)
        return moment.timestamp() if moment else None

    async def audio_file(request: Request, cid: str | None) -> JSONResponse:
        params = parse_query(AudioParams, list(request.query_params.multi_items()))
        if problem := settings.language_refusal(params.language_code):
            raise BadRequest(problem)
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type and content_type not in media.AUDIO_TYPES | {"application/octet-stream"}:
            raise BadRequest(
                f"Content-Type {content_type!r} is not supported; use audio/wav, audio/wave, audio/mpeg or "
                "audio/mp3, or omit it to detect the format"
            )
        if cid is not None and await db(store.conversation, cid, request.state.app_id) is None:
            raise SymblError(404, NO_CONVERSATION)
        if (earlier := await replayed(request)) is not None:
            return earlier
        path = settings.media_dir / new_media_name()
        try:
            await media.save_upload(request.stream(), path, settings.max_media_bytes)
        except media.TooLarge as exc:
            raise SymblError(413, str(exc)) from None
        except media.MediaRefused as exc:
            raise BadRequest(str(exc)) from None
        wire = params.model_dump(by_alias=True, mode="json")
        return await admit(request, cid, "audio_file", wire, media_path=str(path), start_time=start_of(params))

    @app.post("/v1/process/audio", status_code=201, tags=["async"])
    async def post_audio(request: Request) -> JSONResponse:
        """Submit an audio file (raw bytes; parameters in the query)."""
        return await audio_file(request, None)

    @app.put("/v1/process/audio/{cid}", status_code=201, tags=["async"])
    async def put_audio(cid: str, request: Request) -> JSONResponse:
        """Append an audio file to a conversation."""
        return await audio_file(request, cid)

    async def audio_url(request: Request, cid: str | None) -> JSONResponse:
        body = await json_body(request)
        if isinstance(body, dict):  # the tutorial's form: diarization parameters in the query of a URL submission
            for key in ("enableSpeakerDiarization", "diarizationSpeakerCount"):
                if key in request.query_params and key not in body:
                    raw = request.query_params[key]
                    body[key] = raw == "true" if raw in ("true", "false") else raw
        params = parse_body(AudioUrlParams, body)
        if problem := settings.language_refusal(params.language_code):
            raise BadRequest(problem)
        if (earlier := await replayed(request)) is not None:
            return earlier
        try:
            await anyio.to_thread.run_sync(media.check_url, params.url, settings.url_allow_networks)
        except media.MediaRefused as exc:
            raise BadRequest(str(exc)) from None
        wire = params.model_dump(by_alias=True, mode="json")
        return await admit(request, cid, "audio_url", wire, media_url=params.url, start_time=start_of(params))

    @app.post("/v1/process/audio/url", status_code=201, tags=["async"])
    async def post_audio_url(request: Request) -> JSONResponse:
        """Submit the URL of an audio file (JSON body)."""
        return await audio_url(request, None)

    @app.put("/v1/process/audio/url/{cid}", status_code=201, tags=["async"])
    async def put_audio_url(cid: str, request: Request) -> JSONResponse:
        """Append the URL of an audio file to a conversation."""
        return await audio_url(request, cid)

    async def text(request: Request, cid: str | None) -> JSONResponse:
        params = parse_body(TextParams, await json_body(request), limit=settings.max_text_messages)
        starts = [m.duration.start_time for m in params.messages if m.duration]
        start = params.start_time or (min(starts) if starts else None)
        wire = params.model_dump(by_alias=True, mode="json")
        return await admit(request, cid, "text", wire, start_time=start.timestamp() if start else None)

    @app.post("/v1/process/text", status_code=201, tags=["async"])
    async def post_text(request: Request) -> JSONResponse:
        """Submit a text conversation (``messages``)."""
        return await text(request, None)

    @app.put("/v1/process/text/{cid}", status_code=201, tags=["async"])
    async def put_text(cid: str, request: Request) -> JSONResponse:
        """Append messages to a text conversation."""
        return await text(request, cid)

    @app.api_route("/v1/process/video", methods=["POST"], tags=["async"])
    @app.api_route("/v1/process/video/url", methods=["POST"], tags=["async"])
    @app.api_route("/v1/process/video/{cid}", methods=["PUT"], tags=["async"])
    @app.api_route("/v1/process/video/url/{cid}", methods=["PUT"], tags=["async"])
    async def video(request: Request) -> JSONResponse:
        """Video is not processed by this engine: send the audio track to /v1/process/audio."""
        return _error(
            415,
            "Video is not supported by the callscope engine; extract the audio track (e.g. ffmpeg -i in.mp4 -vn "
            "out.wav) and submit it to /v1/process/audio.",
        )

    # ---- Job API -----------------------------------------------------------------------------------------------

    @app.get("/v1/job/{job_id}", tags=["job"])
    async def job_status(job_id: str, request: Request) -> JSONResponse:
        job = await db(store.job, job_id, request.state.app_id)
        if job is None:
            return _error(404, f"The jobId {job_id} is either invalid or does not exist.")
        body: dict[str, Any] = {"id": job.id, "status": job.status}
        if job.status == "failed" and job.error:
            body["message"] = job.error
        return JSONResponse(body)

    # ---- Conversation API --------------------------------------------------------------------------------------

    async def conversation_or_404(request: Request, cid: str) -> dict[str, Any]:
        row = await db(store.conversation, cid, request.state.app_id)
        if row is None:
            raise SymblError(404, NO_CONVERSATION)
        return row

    async def analysis_of(request: Request, cid: str) -> dict[str, Any]:
        await conversation_or_404(request, cid)
        body = await db(store.analysis, cid)
        if body is None:
            return {
                "members": [],
                "messages": [],
                "topics": [],
                "questions": [],
                "actionItems": [],
                "followUps": [],
                "insights": [],
                "analytics": {"metrics": [], "members": []},
                "trackers": [],
                "entities": [],
                "summary": [],
            }
        return body

    def conversation_object(row: dict[str, Any], body: dict[str, Any] | None) -> dict[str, Any]:
        start = datetime.fromtimestamp(row["start_time"], UTC)
        out = {
            "id": row["id"],
            "type": row["type"],
            "name": row["name"],
            "startTime": iso(start),
            "members": body["members"] if body else [],
            "metadata": row["metadata"],
        }
        if body and body.get("endTime"):
            out["endTime"] = body["endTime"]
        return out

    def parse_time(raw: str | None, default: datetime) -> float:
        if raw is None:
            return default.timestamp()
        try:
            return datetime.fromisoformat(raw).timestamp()
        except ValueError:
            raise BadRequest(f'"{raw}" is not an ISO-8601 date-time') from None

    @app.get("/v1/conversations", tags=["conversation"])
    async def list_conversations(
        request: Request,
        limit: int = 20,
        offset: int = 0,
        order: str = "asc",
        sort: str = "conversation.startTime",
        startTime: str | None = None,
        endTime: str | None = None,
        filter: str | None = None,
    ) -> JSONResponse:
        if not 0 <= limit <= 65536 or offset < 0:
            raise BadRequest('"limit" must be 0–65536 and "offset" ≥ 0')
        if order not in ("asc", "desc") or sort != "conversation.startTime":
            raise BadRequest('"order" must be asc or desc; "sort" supports conversation.startTime')
        if filter:
            raise BadRequest('"filter" (RSQL) is not supported by this engine')
        now = datetime.now(UTC)
        end = parse_time(endTime, now)
        start = parse_time(startTime, datetime.fromtimestamp(end, UTC) - timedelta(days=7))
        rows = await db(
            store.conversations_of,
            request.state.app_id,
            start,
            end,
            descending=order == "desc",
            limit=limit,
            offset=offset,
        )
        out = [conversation_object(r, await db(store.analysis, r["id"])) for r in rows]
        return JSONResponse({"conversations": out})

    conv = "/v1/conversations/{cid}"

    @app.get(conv, tags=["conversation"])
    async def get_conversation(cid: str, request: Request) -> JSONResponse:
        row = await conversation_or_404(request, cid)
        return JSONResponse(conversation_object(row, await db(store.analysis, cid)))

    @app.put(conv, tags=["conversation"])
    async def put_conversation(cid: str, request: Request) -> JSONResponse:
        body = await json_body(request)
        if not isinstance(body, dict) or set(body) - {"metadata"} or not isinstance(body.get("metadata"), dict):
            raise BadRequest('only "metadata" (an object) may be updated')
        if not await db(store.update_conversation_metadata, cid, request.state.app_id, body["metadata"]):
            raise SymblError(404, NO_CONVERSATION)
        return JSONResponse({"id": cid, "metadata": body["metadata"]})

    @app.delete(conv, tags=["conversation"])
    async def delete_conversation(cid: str, request: Request) -> JSONResponse:
        try:
            files = await db(store.delete_conversation, cid, request.state.app_id)
        except UnknownConversation:
            raise SymblError(404, NO_CONVERSATION) from None
        await db(media.remove, files)
        return JSONResponse({"message": "successfully deleted the conversation"})

    @app.get(conv + "/messages", tags=["conversation"])
    async def get_messages(cid: str, request: Request, verbose: bool = False, sentiment: bool = False) -> JSONResponse:
        body = await analysis_of(request, cid)
        return JSONResponse({"messages": views.messages(body, verbose=verbose, sentiment=sentiment)})

    @app.get(conv + "/members", tags=["conversation"])
    async def get_members(cid: str, request: Request) -> JSONResponse:
        return JSONResponse({"members": (await analysis_of(request, cid))["members"]})

    @app.put(conv + "/members/{member_id}", tags=["conversation"])
    async def put_member(cid: str, member_id: str, request: Request) -> JSONResponse:
        update = parse_body(MemberBody, await json_body(request))
        if update.id != member_id:
            raise BadRequest('"id" must equal the member id in the path')
        body = await analysis_of(request, cid)
        if not any(m["id"] == member_id for m in body["members"]):
            raise SymblError(404, f"Member with id: {member_id} does not exist in conversationId: {cid}")
        change = {"name": update.name} | ({"email": update.email} if update.email else {})
        await db(store.set_member, cid, member_id, change)
        await db(store.replace_analysis, cid, views.rename_member(body, member_id, update.name, update.email))
        return JSONResponse(
            {
                "message": f"Member with id: {member_id} for conversationId: {cid} updated successfully! The update "
                "should be reflected in all messages and insights along with this conversation"
            }
        )

    @app.put(conv + "/speakers", tags=["conversation"])
    async def put_speakers(cid: str, request: Request) -> JSONResponse:
        events = parse_body(SpeakersBody, await json_body(request))
        body = await analysis_of(request, cid)
        wire = [e.model_dump() for e in events.speaker_events]
        for event in wire:
            if "id" not in event["user"]:
                raise BadRequest('"speakerEvents.user.id" is required')
        await db(store.replace_analysis, cid, views.apply_speaker_events(body, wire))
        return JSONResponse({"message": "Speaker events associated for conversationId: " + cid + " successfully!"})

    @app.get(conv + "/topics", tags=["conversation"])
    async def get_topics(
        cid: str,
        request: Request,
        sentiment: bool = False,
        parentRefs: bool = False,
        refresh: bool = False,
    ) -> JSONResponse:
        if sentiment and parentRefs:
            raise BadRequest('"parentRefs" and "sentiment" cannot be requested together')
        body = await analysis_of(request, cid)
        return JSONResponse({"topics": views.topics(body, sentiment=sentiment, parent_refs=parentRefs)})

    def simple(path: str, key: str) -> None:
        async def endpoint(cid: str, request: Request) -> JSONResponse:
            return JSONResponse({key: (await analysis_of(request, cid))[key]})

        endpoint.__name__ = f"get_{key}"
        app.add_api_route(conv + path, endpoint, methods=["GET"], tags=["conversation"])

    for path, key in (
        ("/questions", "questions"),
        ("/follow-ups", "followUps"),
        ("/action-items", "actionItems"),
        ("/insights", "insights"),
        ("/entities", "entities"),
    ):
        simple(path, key)

    @app.get(conv + "/analytics", tags=["conversation"])
    async def get_analytics(cid: str, request: Request) -> JSONResponse:
        return JSONResponse((await analysis_of(request, cid))["analytics"])

    @app.get(conv + "/trackers-detected", tags=["conversation"])
    @app.get(conv + "/trackers", tags=["conversation"])
    async def get_trackers(cid: str, request: Request) -> JSONResponse:
        return JSONResponse((await analysis_of(request, cid))["trackers"])

    async def summary_of(request: Request, cid: str) -> JSONResponse:
        await conversation_or_404(request, cid)
        jobs = await db(store.jobs_of, cid)
        body = await db(store.analysis, cid)
        if body is None or any(j.status in ("scheduled", "in_progress") for j in jobs):
            return _error(404, "The summary is not ready yet: the conversation is still being processed.")
        return JSONResponse({"summary": body["summary"]})

    @app.get(conv + "/summary", tags=["conversation"])
    async def get_summary(cid: str, request: Request, refresh: bool = False) -> JSONResponse:
        return await summary_of(request, cid)

    @app.post(conv + "/summary", tags=["conversation"])
    async def refresh_summary(cid: str, request: Request, refresh: bool = False) -> JSONResponse:
        return await summary_of(request, cid)

    @app.post(conv + "/transcript", tags=["conversation"])
    async def post_transcript(cid: str, request: Request) -> JSONResponse:
        options = parse_body(TranscriptBody, await json_body(request) or {})
        body = await analysis_of(request, cid)
        payload = views.transcript(body, options.content_type, speakers=options.show_speaker_separation)
        return JSONResponse({"transcript": {"payload": payload, "contentType": options.content_type}})

    # ---- Management API: trackers, both generations (reference §8) ---------------------------------------------

    def tracker_body(raw: Any) -> dict[str, Any]:
        body = parse_body(TrackerBody, raw)
        try:
            return body.checked()
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    async def create(request: Request, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        stamp = iso(datetime.now(UTC))
        bodies = [b | {"createdOn": stamp, "updatedOn": stamp} for b in bodies]
        try:
            return await db(store.create_trackers, request.state.app_id, bodies, MAX_TRACKERS)
        except DuplicateTracker as exc:
            raise SymblError(409, f"A tracker with the name {exc.args[0]!r} already exists.") from None
        except CapReached:
            raise SymblError(400, f"An account may have at most {MAX_TRACKERS} trackers.") from None

    @app.post("/v1/manage/tracker", status_code=201, tags=["management"])
    async def create_tracker_2022(request: Request) -> JSONResponse:
        """Create one tracker (2022 path)."""
        created = await create(request, [tracker_body(await json_body(request, MAX_MANAGEMENT_BODY))])
        return JSONResponse({"tracker": created[0]}, status_code=201)

    @app.post("/v1/manage/trackers", status_code=201, tags=["management"])
    async def create_trackers(request: Request) -> JSONResponse:
        """Create one tracker (2023: an object) or many (2022 bulk: an array)."""
        raw = await json_body(request, MAX_MANAGEMENT_BODY)
        if isinstance(raw, list):
            created = await create(request, [tracker_body(item) for item in raw])
            return JSONResponse({"trackers": created}, status_code=201)
        created = await create(request, [tracker_body(raw)])
        return JSONResponse({"tracker": created[0]}, status_code=201)

    @app.post("/v1/manage/trackers/bulk", status_code=201, tags=["management"])
    async def create_trackers_bulk(request: Request) -> JSONResponse:
        """Create many trackers (2023 path), all or none."""
        raw = await json_body(request, MAX_MANAGEMENT_BODY)
        if not isinstance(raw, list) or not raw:
            raise BadRequest("the body must be a non-empty array of trackers")
        created = await create(request, [tracker_body(item) for item in raw])
        return JSONResponse({"trackers": created}, status_code=201)

    @app.get("/v1/manage/trackers", tags=["management"])
    async def list_trackers(request: Request, name: str | None = None) -> JSONResponse:
        return JSONResponse({"trackers": await db(store.trackers_of, request.state.app_id, name)})

    async def tracker_or_404(request: Request, tid: str) -> dict[str, Any]:
        found = await db(store.tracker, request.state.app_id, tid)
        if found is None:
            raise SymblError(404, f"The tracker with id {tid} does not exist.")
        return found

    @app.get("/v1/manage/tracker/{tid}", tags=["management"])
    @app.get("/v1/manage/trackers/{tid}", tags=["management"])
    async def get_tracker(tid: str, request: Request) -> JSONResponse:
        return JSONResponse({"tracker": await tracker_or_404(request, tid)})

    async def replace(request: Request, tid: str, body: dict[str, Any], created: str) -> JSONResponse:
        body = body | {"createdOn": created, "updatedOn": iso(datetime.now(UTC))}
        try:
            updated = await db(store.replace_tracker, request.state.app_id, tid, body)
        except DuplicateTracker as exc:
            raise SymblError(409, f"A tracker with the name {exc.args[0]!r} already exists.") from None
        if updated is None:
            raise SymblError(404, f"The tracker with id {tid} does not exist.")
        return JSONResponse({"tracker": updated})

    @app.put("/v1/manage/tracker/{tid}", tags=["management"])
    async def put_tracker(tid: str, request: Request) -> JSONResponse:
        """Replace a tracker (2022)."""
        current = await tracker_or_404(request, tid)
        raw = await json_body(request, MAX_MANAGEMENT_BODY)
        if isinstance(raw, dict) and raw.get("id") not in (None, tid):
            raise BadRequest('"id" must equal the tracker id in the path')
        return await replace(request, tid, tracker_body(raw), current.get("createdOn", ""))

    @app.patch("/v1/manage/trackers/{tid}", tags=["management"])
    async def patch_tracker(tid: str, request: Request) -> JSONResponse:
        """Update a tracker with add/replace/remove operations (2023)."""
        current = await tracker_or_404(request, tid)
        ops = await json_body(request, MAX_MANAGEMENT_BODY)
        if not isinstance(ops, list) or not ops:
            raise BadRequest("the body must be a non-empty array of operations")
        fields = {"name", "description", "categories", "languages", "vocabulary", "excludeVocabulary"}
        draft = {k: v for k, v in current.items() if k not in ("id", "createdOn", "updatedOn")}
        for op in ops:
            if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove"):
                raise BadRequest('"op" must be add, replace or remove')
            key = str(op.get("path", "")).lstrip("/")
            if key not in fields:
                raise BadRequest(f'"path" must be one of {", ".join("/" + f for f in sorted(fields))}')
            if op["op"] == "remove":
                if isinstance(draft.get(key), list) and "value" in op:
                    remove = op["value"] if isinstance(op["value"], list) else [op["value"]]
                    draft[key] = [v for v in draft[key] if v not in remove]
                else:
                    draft.pop(key, None)
            elif op["op"] == "add" and isinstance(draft.get(key), list):
                draft[key] = draft[key] + (op["value"] if isinstance(op["value"], list) else [op["value"]])
            else:
                draft[key] = op.get("value")
        return await replace(request, tid, tracker_body(draft), current.get("createdOn", ""))

    @app.delete("/v1/manage/tracker/{tid}", tags=["management"])
    @app.delete("/v1/manage/trackers/{tid}", tags=["management"])
    async def delete_tracker(tid: str, request: Request) -> JSONResponse:
        if not await db(store.delete_tracker, request.state.app_id, tid):
            raise SymblError(404, f"The tracker with id {tid} does not exist.")
        return JSONResponse({"id": tid, "type": "tracker", "deleted": True})

    # ---- Experience API and the report page -------------------------------------------------------------------

    def sign(value: str) -> str:
        return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]

    app.mount("/reports/static", StaticFiles(directory=Path(report_page.__file__).parent / "static"), name="static")

    @app.post(conv + "/experiences", tags=["experience"])
    async def post_experience(cid: str, request: Request) -> JSONResponse:
        options = parse_body(ExperienceBody, await json_body(request))
        row = await conversation_or_404(request, cid)
        if options.name == "video-summary":
            raise BadRequest("video-summary is not supported by this engine; use audio-summary")
        if options.enable_custom_domain:
            raise BadRequest("enableCustomDomain is not supported by this engine")
        if problem := report_page.check_look(options.model_dump(by_alias=True)):
            raise BadRequest(problem)
        submitted = [j.media_url for j in await db(store.jobs_of, cid) if j.media_url]
        if options.name == "audio-summary":
            if row["source"] != "audio":
                raise BadRequest("audio-summary needs an audio conversation; use verbose-text-summary")
            # The query may differ (a presigned URL is signed anew for the report); the resource may not.
            if submitted and _without_query(options.audio_url) not in {_without_query(u) for u in submitted}:
                raise BadRequest('"audioUrl" must be the URL submitted to the Async API for this conversation')
        expires_in = (
            settings.report_expiry_default if options.summary_url_expires_in is None else options.summary_url_expires_in
        )
        expires_at = time.time() + expires_in if expires_in else None
        experience_id = secrets.token_hex(8)
        await db(store.save_experience, experience_id, cid, options.model_dump(by_alias=True), expires_at)
        token = f"{experience_id}.{sign(experience_id + cid)}"
        return JSONResponse({"name": options.name, "url": f"{settings.base_url}/reports/{cid}?t={token}"})

    async def experience_for(cid: str, t: str) -> dict[str, Any] | HTMLResponse:
        """The experience a report link names, or the 403 page: unknown, tampered or expired."""
        experience_id, _, signature = t.partition(".")
        found = await db(store.experience, experience_id) if experience_id else None
        if (
            found is None
            or found["conversation_id"] != cid
            or not hmac.compare_digest(signature, sign(experience_id + cid))
        ):
            return _page(403, "This report link is not valid", "Check that the link was copied whole.")
        if found["expires_at"] is not None and found["expires_at"] < time.time():
            return _page(403, "This report link has expired", "Ask for a new link to this conversation.")
        return found

    @app.get("/reports/{cid}", include_in_schema=False)
    async def report(cid: str, t: str = "") -> HTMLResponse:
        found = await experience_for(cid, t)
        if isinstance(found, HTMLResponse):
            return found
        body = await db(store.analysis, cid)
        if body is None:
            return _page(404, "Not ready yet", "This conversation is still being processed; try again shortly.")
        look = found["body"]
        parts = await db(store.transcripts, cid)
        jobs = [j for j in await db(store.jobs_of, cid) if j.kind in ("audio_file", "audio_url")]
        audio_src = None
        if look.get("name") == "audio-summary" and jobs:
            audio_src = look.get("audioUrl") or jobs[0].media_url or f"/reports/{cid}/audio?t={t}"
        page = report_page.render(
            body,
            look,
            audio_src=audio_src,
            peaks=[p for part in parts for p in part.get("peaks", [])],
            duration=sum(part["duration"] for part in parts),
        )
        return HTMLResponse(page, headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})

    @app.get("/reports/{cid}/audio", include_in_schema=False)
    async def report_audio(cid: str, t: str = "") -> Response:
        """The uploaded recording, for the report page's player (byte ranges, so it can seek)."""
        found = await experience_for(cid, t)
        if isinstance(found, HTMLResponse):
            return found
        uploads = [j.media_path for j in await db(store.jobs_of, cid) if j.kind == "audio_file" and j.media_path]
        head = await db(_head, uploads[0]) if uploads else None
        if head is None:
            return _page(404, "No recording", "The recording of this conversation is not stored by the engine.")
        return FileResponse(uploads[0], media_type=_audio_type(head))

    return app


def _without_query(url: str | None) -> str:
    return urlsplit(url or "")._replace(query="", fragment="").geturl()


def _head(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(12)
    except FileNotFoundError:
        return None


def _audio_type(head: bytes) -> str:
    """The media type of a stored upload from its first bytes (uploads are stored without a name)."""
    known = {b"RIFF": "audio/wav", b"ID3": "audio/mpeg", b"fLaC": "audio/flac", b"OggS": "audio/ogg"}
    for magic, kind in known.items():
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    return "audio/mpeg" if head[:1] == b"\xff" else "application/octet-stream"


def _page(status: int, title: str, reason: str) -> HTMLResponse:
    return HTMLResponse(report_page.refused(title, reason), status_code=status, headers={"Cache-Control": "no-store"})
