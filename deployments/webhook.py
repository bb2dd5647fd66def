"""The durable webhook receiver: ``POST /webhooks/symbl/{token}`` (open-source Prefect has no inbound webhooks).

For each callback: the body is bounded (413), the token authenticated in constant time (401), the payload validated
(400); the job is re-read from the provider and the request moved on in storage — durable — and only then is a
Prefect event emitted (``callscope.job.completed`` / ``.failed``), which triggers the fetch and submit deployments.
If Prefect is down the event is lost but the state is not: the poll deployment finishes what it finds completed.
A callback that outruns the submitter waits briefly for the job id (seed 002). 202 when accepted.

    python -m deployments.webhook [--host 127.0.0.1] [--port 8178]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.symbl import SymblSettings
from connectors.symbl.errors import SymblError
from flows import events
from flows.context import pipeline
from flows.receiver import MAX_BODY, BodyTooLarge, read_payload
from flows.settings import PipelineSettings
from flows.status import CallbackResult, handle_callback
from storage import RequestStatus, TransientStorageError

log = logging.getLogger("callscope.webhook")
STATUS_CODES = {
    CallbackResult.APPLIED: 202,
    CallbackResult.NOT_YET_SUBMITTED: 202,  # no job id yet after the wait: the poll path catches up
    CallbackResult.UNKNOWN_TOKEN: 401,
    CallbackResult.INVALID: 400,
    CallbackResult.JOB_MISMATCH: 400,
}


def create_app(
    settings: PipelineSettings | None = None,
    symbl: SymblSettings | None = None,
    *,
    max_body: int = MAX_BODY,
    concurrency: int = 32,
) -> FastAPI:
    """The receiver app; its lifespan opens the store and the provider client."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with pipeline(settings, symbl) as ctx:
            app.state.ctx = ctx
            yield

    app = FastAPI(title="callscope webhook receiver", lifespan=lifespan, openapi_url=None, docs_url=None)
    gate = asyncio.Semaphore(concurrency)  # a burst queues here instead of overrunning the store and the provider

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/symbl/{token}")
    async def callback(token: str, request: Request) -> JSONResponse:
        try:
            payload = await read_payload(request, max_body)
        except BodyTooLarge:
            return JSONResponse({"message": f"body over {max_body} bytes"}, status_code=413)
        async with gate:
            try:
                handled = await handle_callback(app.state.ctx, token, payload)
            except TransientStorageError as exc:  # nothing recorded: ask the sender to try again
                log.warning("callback not recorded: %s", exc)
                return JSONResponse({"message": "storage unavailable"}, status_code=503, headers={"Retry-After": "5"})
            except SymblError as exc:  # the job could not be re-read; the request stays active and is polled
                log.warning("callback accepted, job not re-read: %s", exc)
                return JSONResponse({"result": "deferred"}, status_code=202)
        req = handled.request
        if handled.moved and req is not None and req.status in (RequestStatus.COMPLETED, RequestStatus.FAILED):
            events.job_ended(req)
        return JSONResponse({"result": handled.result}, status_code=STATUS_CODES[handled.result])

    return app


def main() -> None:  # pragma: no cover - exercised through `callscope serve` and the tests' subprocess
    import uvicorn

    settings = PipelineSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=settings.webhook_host)
    parser.add_argument("--port", type=int, default=settings.webhook_port)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":  # pragma: no cover
    main()
