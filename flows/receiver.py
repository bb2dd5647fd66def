"""A loopback webhook receiver for `callscope run`: the provider's callbacks wake the run loop at once, so a freed
slot is refilled without waiting for the next poll. (Deployments use the durable receiver in ``deployments/``.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MAX_BODY = 64 * 1024


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class BodyTooLarge(Exception):
    pass


NOT_JSON = object()
"""The payload of a body that is not JSON (it fails validation like any junk)."""


async def read_payload(request: Request, limit: int = MAX_BODY) -> Any:
    """The request's JSON body, read no further than ``limit`` bytes (BodyTooLarge past it); NOT_JSON for junk."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    try:
        return json.loads(body)
    except ValueError:
        return NOT_JSON


def make_app(queue: asyncio.Queue[tuple[str, Any]]) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/webhooks/symbl/{token}")
    async def callback(token: str, request: Request) -> JSONResponse:
        try:
            payload = await read_payload(request)
        except BodyTooLarge:
            return JSONResponse({"message": "body too large"}, status_code=413)
        queue.put_nowait((token, payload))  # the handler authenticates by token and re-reads the job
        return JSONResponse({"accepted": True}, status_code=202)

    return app


class _QuietServer(uvicorn.Server):
    """Leaves signals to the program that embeds it (Ctrl-C stops the run, not just the receiver)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def loopback_receiver(queue: asyncio.Queue[tuple[str, Any]]) -> AsyncIterator[str]:
    """Serve the receiver on a free loopback port for the duration; yields its base URL."""
    port = free_port()
    # log_config=None: leave the program's logging alone (reconfiguring it under Prefect can deadlock its log handler)
    config = uvicorn.Config(
        make_app(queue),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
