"""Settings of the pipeline (environment prefix ``CALLSCOPE_``, ``.env`` supported). The provider's are
``CALLSCOPE_SYMBL_*`` (connectors.symbl.SymblSettings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage import DEFAULT_URL


class PipelineSettings(BaseSettings):
    """Every knob of the flows, each with its meaning; validated when read."""

    model_config = SettingsConfigDict(env_prefix="CALLSCOPE_", env_file=".env", extra="ignore")

    storage_url: str = Field(
        default=DEFAULT_URL,
        description="Where callscope keeps its state: sqlite:///…, postgresql://…, mongodb://…/db, datastore://project.",
    )
    cap: int = Field(default=50, ge=1, le=10_000, description="Active requests allowed at once (the provider's cap).")
    sla_ratio: float = Field(
        default=0.4,
        gt=0,
        le=10,
        description="A job running longer than this × its recording's length breaches the SLA.",
    )
    poll_interval: float = Field(
        default=5.0, gt=0, le=3600, description="Seconds between Job API checks of active requests (the poll path)."
    )
    run_deadline: float = Field(
        default=24 * 3600, gt=0, description="`callscope run` stops waiting after this many seconds (jobs go on)."
    )
    submit_concurrency: int = Field(default=8, ge=1, le=256, description="Submissions in flight at once.")
    fetch_concurrency: int = Field(default=4, ge=1, le=64, description="Conversation API calls in flight at once.")
    summary_grace: float = Field(
        default=30.0, ge=0, le=3600, description="Seconds a summary 404 is retried after its job completed."
    )
    backoff_429: float = Field(
        default=2.0, gt=0, le=600, description="Seconds to wait before claiming again after the provider's 429."
    )
    submit_stale_after: float = Field(
        default=120.0,
        gt=0,
        description="A request left in `submitting` this long (its submitter died) is submitted again with the "
        "same idempotency key.",
    )
    webhook_public_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Base URL of the webhook receiver as the provider reaches it; each request's webhook is "
        "<this>/webhooks/symbl/<token>. Unset: `callscope run` receives on loopback, deployments poll.",
    )
    report_expires_in: int = Field(
        default=30 * 24 * 3600, ge=0, description="Seconds a report link stays valid (0: never expires)."
    )
    presign_expires_in: int = Field(
        default=6 * 3600,
        ge=60,
        le=7 * 24 * 3600,
        description="Seconds an S3 presigned URL given to the provider lives.",
    )
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO, …); unset: AWS.")
    trackers_file: Path | None = Field(
        default=None,
        description="JSON list of trackers ({name, vocabulary}) sent with every submission; `callscope run PATH` "
        "also reads PATH/trackers.json.",
    )
    work_dir: Path = Field(
        default=Path(".callscope"), description="Downloads, split parts and the embedded engine's data."
    )
    engine_workers: int = Field(default=1, ge=1, le=32, description="Worker processes of the embedded engine.")
    engine_port: int = Field(
        default=8177,
        ge=0,
        le=65535,
        description="Loopback port of the embedded engine; report links name it, so a fixed port keeps them "
        "valid whenever the engine runs again. 0, or the port taken: any free port.",
    )

    # Deployments (`callscope serve`, deployments/prefect.yaml)
    ingest_sources: list[str] = Field(
        default_factory=list,
        description="What the ingest deployment scans on each run: folders, http(s) URLs of recordings and "
        "s3://bucket/prefix locations, as a JSON list.",
    )
    ingest_cron: str = Field(default="*/10 * * * *", description="Cron schedule of the ingest deployment.")
    submit_cron: str = Field(
        default="* * * * *",
        description="Cron schedule of the submit deployment (it also runs on ingest and job-completion events).",
    )
    poll_every: float = Field(
        default=60.0,
        ge=5,
        le=24 * 3600,
        description="Seconds between runs of the poll deployment (checks jobs no webhook told about; finishes "
        "completed ones whose event was lost).",
    )
    sla_cron: str = Field(default="0 * * * *", description="Cron schedule of the SLA check (hourly).")
    sla_alert_block: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9-]+/[^/]+$",
        description="Prefect notification block (<block-type-slug>/<name>, e.g. slack-webhook/ops) that every "
        "callscope.sla.breached event is sent to; `callscope serve` keeps that automation in place.",
    )
    webhook_port: int = Field(
        default=8178, ge=1, le=65535, description="Port of the webhook receiver that `callscope serve` starts."
    )
    webhook_host: str = Field(default="127.0.0.1", description="Address the webhook receiver binds.")
    serve_limit: int = Field(default=4, ge=1, le=64, description="Flow runs `callscope serve` executes at once.")
    prefect_port: int = Field(
        default=4200, ge=1, le=65535, description="Port of the Prefect server `callscope serve --with-server` starts."
    )
    prefect_database_url: str | None = Field(
        default=None,
        description="Database of that Prefect server (postgresql+asyncpg://…); unset: SQLite in the work dir.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> PipelineSettings:
        if self.submit_concurrency > self.cap:
            self.submit_concurrency = self.cap
        return self
