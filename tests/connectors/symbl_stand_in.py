"""A stand-in Symbl API for the connector's tests until the engine exists: a real ASGI app on 127.0.0.1 that serves
the reference's documented shapes and can inject faults (statuses, slow answers, malformed bodies, expired tokens).

It is a test double of the provider, not a mock of the client: the client speaks real HTTP to it.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.servers import free_port

APP_ID, APP_SECRET = "test-app", "test-secret"
CONVERSATION = "5815170693595136"


@dataclass
class Fault:
    prefix: str
    status: int = 500
    times: int = 1
    body: Any = None
    delay: float = 0.0
    malformed: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class State:
    tokens: dict[str, float] = field(default_factory=dict)  # token → expiry (monotonic)
    token_lifetime: int = 86400
    tokens_issued: int = 0
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[str, list[str]] = field(default_factory=dict)  # job id → statuses still to report
    job_script: list[str] = field(default_factory=lambda: ["scheduled", "in_progress", "completed"])
    summary_404s: int = 0
    trackers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fail(self, prefix: str, status: int = 500, times: int = 1, **kw: Any) -> None:
        self.faults.append(Fault(prefix=prefix, status=status, times=times, **kw))

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def calls(self, path_prefix: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith(path_prefix)]


def _err(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status)


def build_app(state: State) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def faults_and_auth(request: Request, call_next: Any) -> Response:
        path = request.url.path
        record = {
            "method": request.method,
            "path": path,
            "query": dict(request.query_params),
            "headers": dict(request.headers),
        }
        state.requests.append(record)
        for fault in state.faults:
            if fault.times > 0 and path.startswith(fault.prefix):
                fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.malformed:
                    return PlainTextResponse("<html>502 Bad Gateway</html>", status_code=fault.status)
                if fault.status < 400:
                    break
                body = fault.body if fault.body is not None else {"message": f"injected {fault.status}"}
                return JSONResponse(body, status_code=fault.status, headers=fault.headers)
        if path != "/oauth2/token:generate":
            auth = request.headers.get("authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else request.headers.get("x-api-key")
            if not token or state.tokens.get(token, 0) < time.monotonic():
                return _err(401, "Token validation failed for provided token.")
        return await call_next(request)  # type: ignore[no-any-return]

    @app.post("/oauth2/token:generate")
    async def token(body: dict[str, Any]) -> Response:
        if body.get("appId") != APP_ID or body.get("appSecret") != APP_SECRET or body.get("type") != "application":
            return _err(401, "Invalid credentials")
        tok = secrets.token_urlsafe(16)
        state.tokens[tok] = time.monotonic() + state.token_lifetime
        state.tokens_issued += 1
        return JSONResponse({"accessToken": tok, "expiresIn": state.token_lifetime})

    def new_job(conversation_id: str | None = None) -> JSONResponse:
        job = str(uuid.uuid4())
        state.jobs[job] = list(state.job_script)
        return JSONResponse({"conversationId": conversation_id or CONVERSATION, "jobId": job}, status_code=201)

    async def upload(request: Request, conversation_id: str | None) -> Response:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        state.requests[-1]["body_bytes"] = size
        if size == 0:
            return _err(400, "Request body is empty.")
        return new_job(conversation_id)

    @app.post("/v1/process/audio")
    async def post_audio(request: Request) -> Response:
        return await upload(request, None)

    @app.put("/v1/process/audio/{cid}")
    async def put_audio(cid: str, request: Request) -> Response:
        return await upload(request, cid)

    async def json_submit(request: Request, cid: str | None, required: str) -> Response:
        body = await request.json()
        state.requests[-1]["json"] = body
        if required not in body:
            return _err(400, f'"{required}" is required')
        return new_job(cid)

    @app.post("/v1/process/audio/url")
    async def post_url(request: Request) -> Response:
        return await json_submit(request, None, "url")

    @app.put("/v1/process/audio/url/{cid}")
    async def put_url(cid: str, request: Request) -> Response:
        return await json_submit(request, cid, "url")

    @app.post("/v1/process/text")
    async def post_text(request: Request) -> Response:
        return await json_submit(request, None, "messages")

    @app.put("/v1/process/text/{cid}")
    async def put_text(cid: str, request: Request) -> Response:
        return await json_submit(request, cid, "messages")

    @app.get("/v1/job/{job_id}")
    async def job(job_id: str) -> Response:
        if job_id not in state.jobs:
            return _err(404, "Job not found")
        script = state.jobs[job_id]
        status = script.pop(0) if len(script) > 1 else script[0]
        return JSONResponse({"id": job_id, "status": status})

    conv = "/v1/conversations/{cid}"
    docs: dict[str, Any] = {
        "messages": {
            "messages": [
                {
                    "id": "6412283618000896",
                    "text": "Best package for you is $69.99 per month.",
                    "from": {"id": "f1", "name": "Roger", "email": "roger@example.com"},
                    "startTime": "2020-07-10T11:16:21.024Z",
                    "endTime": "2020-07-10T11:16:26.724Z",
                    "timeOffset": 5.9,
                    "duration": 1.0,
                    "conversationId": CONVERSATION,
                    "phrases": [{"type": "action_phrase", "text": "x"}],
                    "sentiment": {"polarity": {"score": 0.6}, "suggested": "positive"},
                    "words": [
                        {
                            "word": "Best",
                            "startTime": "2020-07-10T11:16:21.024Z",
                            "endTime": "2020-07-10T11:16:21.3Z",
                            "score": 0.91,
                            "timeOffset": 5.9,
                            "duration": 0.2,
                            "speakerTag": 1,
                        }
                    ],
                }
            ]
        },
        "members": {
            "members": [{"id": "fc9b35cd-361f-41c6-9029-0944d21c7150", "name": "John", "email": "john@example.com"}]
        },
        "topics": {
            "topics": [
                {
                    "id": "5907389282779136",
                    "text": "interns",
                    "type": "topic",
                    "score": 0.7178,
                    "messageIds": ["4600982711304192"],
                    "sentiment": {"polarity": {"score": 0.389}, "suggested": "positive"},
                    "parentRefs": [{"type": "topic", "text": "company-wise hiring"}],
                }
            ]
        },
        "questions": {
            "questions": [
                {
                    "id": "6673386714431488",
                    "text": "It actually does not have speakers right?",
                    "type": "question",
                    "score": 0.984,
                    "messageIds": ["5561105242914816"],
                    "from": {"id": "47c7", "name": "Surbhi", "userId": "surbhi@example.com"},
                }
            ]
        },
        "follow-ups": {
            "followUps": [
                {
                    "id": "1",
                    "text": "Send the deck tomorrow",
                    "type": "follow_up",
                    "score": 0.9,
                    "messageIds": ["2"],
                    "dueBy": "2020-06-22T07:00:00.000Z",
                }
            ]
        },
        "action-items": {
            "actionItems": [
                {
                    "id": "4567077831573504",
                    "text": "Vikram you need to work on a plan...",
                    "type": "action_item",
                    "score": 0.9456,
                    "messageIds": ["4854542482014208"],
                    "entities": [
                        {"type": "person", "text": "Vikram", "offset": 0, "value": {"assignee": True, "name": "Vikram"}}
                    ],
                    "phrases": [{"type": "action_phrase", "text": "make this hackathon work"}],
                    "from": {"id": "c99e", "name": "Lucy", "userId": "lucy@example.com"},
                    "definitive": True,
                    "assignee": {"name": "Vikram"},
                    "dueBy": "2020-06-22T07:00:00.000Z",
                }
            ]
        },
        "insights": {"insights": [{"id": "1", "text": "Why?", "type": "question", "score": 0.9, "messageIds": []}]},
        "analytics": {
            "metrics": [
                {"type": "total_silence", "percent": 29.061, "seconds": 23.432},
                {"type": "total_talk_time", "percent": 70.939, "seconds": 57.199},
                {"type": "total_overlap", "percent": 55.071, "seconds": 31.5},
            ],
            "members": [
                {
                    "id": "acc63fbe",
                    "name": "Speaker 1",
                    "userId": "abc@example.com",
                    "pace": {"wpm": 68},
                    "talkTime": {"percentage": 40.912, "seconds": 23.401},
                    "listenTime": {"percentage": 59.088, "seconds": 33.798},
                    "overlap": {
                        "overlapDuration": 31.5,
                        "overlappingMembers": [
                            {
                                "id": "a52d",
                                "name": "Speaker 2",
                                "userId": "abcd@example.com",
                                "percent": 61.58,
                                "seconds": 24.94,
                            }
                        ],
                    },
                }
            ],
        },
        "trackers-detected": [
            {
                "id": "5237067555536896",
                "name": "PricingMention",
                "matches": [
                    {
                        "type": "vocabulary",
                        "value": "What is the price",
                        "messageRefs": [{"id": "4667009028587520", "text": "How much does it cost?", "offset": -1}],
                        "insightRefs": [
                            {
                                "id": "5420651570528256",
                                "type": "question",
                                "text": "How much does it cost?",
                                "offset": -1,
                            }
                        ],
                    }
                ],
            }
        ],
        "entities": {
            "entities": [
                {
                    "type": "custom",
                    "customType": "Company Executives",
                    "value": "marketing director",
                    "text": "marketing director",
                    "messageRefs": [
                        {"id": "5118221462011904", "text": "The marketing director is out-of-town.", "offset": 4}
                    ],
                }
            ]
        },
        "summary": {
            "summary": [
                {
                    "id": "3498579583479",
                    "text": "John, Mark and Paul need to focus more.",
                    "messageRefs": [{"id": "248594875984"}, {"id": "948538959348"}],
                    "startTime": "2022-08-23T01:13:21.784Z",
                    "endTime": "2022-08-23T01:14:55.304Z",
                }
            ]
        },
    }

    @app.get("/v1/conversations")
    async def conversations() -> Response:
        return JSONResponse(
            {
                "conversations": [
                    {
                        "id": CONVERSATION,
                        "type": "meeting",
                        "name": "Sales call",
                        "startTime": "2021-07-23T16:31:29.798Z",
                        "members": [],
                    }
                ]
            }
        )

    @app.get(conv)
    async def conversation(cid: str) -> Response:
        if cid != CONVERSATION:
            return _err(404, "The conversationId is either invalid or does not exist.")
        return JSONResponse(
            {
                "id": cid,
                "type": "meeting",
                "name": cid,
                "startTime": "2021-07-23T16:31:29.798Z",
                "endTime": "2021-07-23T16:32:20.826Z",
                "members": [{"id": "5118221462011904", "name": "John", "email": "john@example.com"}],
                "metadata": {"label": "Business"},
            }
        )

    @app.put(conv)
    async def update_conversation(cid: str, body: dict[str, Any]) -> Response:
        return JSONResponse({"id": cid, "metadata": body.get("metadata", {})})

    @app.delete(conv)
    async def delete_conversation(cid: str) -> Response:
        if cid != CONVERSATION:
            return _err(404, "The conversationId is either invalid or does not exist.")
        return JSONResponse({"message": "successfully deleted the conversation"})

    @app.put(conv + "/members/{member_id}")
    async def update_member(cid: str, member_id: str, body: dict[str, Any]) -> Response:
        if body.get("id") != member_id or not body.get("name"):
            return _err(400, '"name" is required')
        return JSONResponse(
            {
                "message": f"Member with id: {member_id} for conversationId: {cid} updated "
                "successfully! The update should be reflected in all messages and insights "
                "along with this conversation"
            }
        )

    @app.get(conv + "/{api}")
    async def intelligence(cid: str, api: str) -> Response:
        if cid != CONVERSATION or api not in docs:
            return _err(404, "The conversationId is either invalid or does not exist.")
        if api == "summary" and state.summary_404s > 0:
            state.summary_404s -= 1
            return _err(404, "Summary is not ready yet.")
        return JSONResponse(docs[api])

    @app.post(conv + "/transcript")
    async def transcript(cid: str, body: dict[str, Any]) -> Response:
        return JSONResponse(
            {
                "transcript": {
                    "payload": "Roger: Best package for you is $69.99 per month.",
                    "contentType": body.get("contentType", "text/markdown"),
                }
            }
        )

    @app.post(conv + "/experiences")
    async def experience(cid: str, body: dict[str, Any]) -> Response:
        return JSONResponse({"name": body["name"], "url": f"https://example.invalid/#/{cid}"})

    def tracker_out(tid: str) -> dict[str, Any]:
        return {"id": tid, **state.trackers[tid]}

    async def create_tracker(body: dict[str, Any]) -> Response:
        if any(t["name"] == body.get("name") for t in state.trackers.values()):
            return _err(409, f"Tracker with name {body.get('name')} already exists")
        tid = str(5_000_000_000_000_000 + len(state.trackers))
        state.trackers[tid] = {k: v for k, v in body.items() if k != "id"}
        return JSONResponse({"tracker": tracker_out(tid)}, status_code=201)

    @app.post("/v1/manage/tracker")
    async def create_one_2022(body: dict[str, Any]) -> Response:
        return await create_tracker(body)

    @app.post("/v1/manage/trackers")
    async def create_plural(request: Request) -> Response:
        body = await request.json()
        if isinstance(body, list):  # 2022 bulk
            return await bulk(body)
        return await create_tracker(body)

    @app.post("/v1/manage/trackers/bulk")
    async def bulk_2023(body: list[dict[str, Any]]) -> Response:
        return await bulk(body)

    async def bulk(body: list[dict[str, Any]]) -> Response:
        out = []
        for item in body:
            resp = await create_tracker(item)
            if resp.status_code >= 400:
                return resp
            out.append(tracker_out(list(state.trackers)[-1]))
        return JSONResponse({"trackers": out}, status_code=201)

    @app.get("/v1/manage/trackers")
    async def list_trackers(name: str | None = None) -> Response:
        return JSONResponse(
            {"trackers": [tracker_out(t) for t, v in state.trackers.items() if name is None or v["name"] == name]}
        )

    @app.get("/v1/manage/tracker/{tid}")
    async def get_tracker(tid: str) -> Response:
        if tid not in state.trackers:
            return _err(404, "Tracker not found")
        return JSONResponse({"tracker": tracker_out(tid)})

    @app.put("/v1/manage/tracker/{tid}")
    async def put_tracker(tid: str, body: dict[str, Any]) -> Response:
        if tid not in state.trackers:
            return _err(404, "Tracker not found")
        state.trackers[tid] = {k: v for k, v in body.items() if k != "id"}
        return JSONResponse({"tracker": tracker_out(tid)})

    @app.patch("/v1/manage/trackers/{tid}")
    async def patch_tracker(tid: str, ops: list[dict[str, Any]]) -> Response:
        if tid not in state.trackers:
            return _err(404, "Tracker not found")
        for op in ops:
            if op.get("op") not in {"add", "replace", "remove"}:
                return _err(400, f"unsupported op {op.get('op')!r}")
            key = op["path"].lstrip("/")
            if op["op"] == "remove":
                state.trackers[tid].pop(key, None)
            else:
                state.trackers[tid][key] = op["value"]
        return JSONResponse({"tracker": tracker_out(tid)})

    @app.delete("/v1/manage/tracker/{tid}")
    @app.delete("/v1/manage/trackers/{tid}")
    async def delete_tracker(tid: str) -> Response:
        if state.trackers.pop(tid, None) is None:
            return _err(404, "Tracker not found")
        return JSONResponse({"id": tid, "type": "tracker", "deleted": True})

    return app


class StandInServer:
    """Serves :func:`build_app` with uvicorn in a background thread on a free loopback port."""

    def __init__(self) -> None:
        self.state = State()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            build_app(self.state), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> StandInServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
