"""Settings of the engine (environment prefix ``CALLSCOPE_ENGINE_``, ``.env`` supported)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EngineSettings(BaseSettings):
    """Everything the engine's API and workers read. Secrets are ``SecretStr``: never printed or logged."""

    model_config = SettingsConfigDict(env_prefix="CALLSCOPE_ENGINE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path(".callscope-engine"), description="Where the engine keeps its database and received media."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the engine's own database; default an SQLite file in data_dir. "
        "postgresql://… works too (psycopg 3).",
    )
    host: str = Field(default="127.0.0.1", description="Address the API binds.")
    port: int = Field(default=8177, ge=0, le=65535, description="Port the API binds.")
    public_url: str | None = Field(
        default=None, description="Base URL under which report pages are linked; default http://host:port."
    )
    workers: int = Field(default=1, ge=0, le=64, description="Worker processes that take jobs (0: API only).")
    app_id: str = Field(default="callscope", min_length=1, description="appId accepted by /oauth2/token:generate.")
    app_secret: SecretStr | None = Field(
        default=None,
        description="appSecret for app_id. Unset: one is generated on first start and written, with the app id, "
        "to data_dir/credentials.env (mode 0600) for the pipeline to read.",
    )
    extra_apps: dict[str, SecretStr] = Field(
        default_factory=dict, description="Further accounts as {appId: appSecret}; each has its own job cap."
    )
    jwt_secret: SecretStr | None = Field(
        default=None, description="HMAC key signing access tokens and report links; default generated and stored."
    )
    token_lifetime: int = Field(default=86400, ge=60, le=30 * 86400, description="Access-token lifetime (s).")
    benchmark_latency_model: float | None = Field(
        default=None,
        gt=0,
        description="BENCHMARK ONLY: no analysis; the API process completes each job this many seconds per second "
        "of audio after taking it (WAV header length). Run with workers=0. Never in production.",
    )
    max_active_jobs: int = Field(
        default=50, ge=1, le=100_000, description="Per-account cap on scheduled + in-progress jobs (Symbl: 50)."
    )
    job_lease_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="A running job whose worker stops renewing this lease is resumed."
    )
    worker_poll_interval: float = Field(default=0.5, gt=0, le=60, description="Idle worker poll interval (s).")
    webhook_max_attempts: int = Field(default=8, ge=1, le=50, description="Deliveries tried per webhook.")
    webhook_backoff_initial: float = Field(default=1.0, gt=0, le=600, description="First webhook retry delay (s).")
    webhook_backoff_max: float = Field(default=120.0, gt=0, le=3600, description="Cap on one webhook retry delay.")
    webhook_timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds per webhook delivery.")
    url_allow_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = Field(
        default_factory=list,
        description="Private/loopback/link-local networks media URLs may point into (SSRF allow-list), "
        'e.g. ["127.0.0.0/8"]. Public addresses are always allowed.',
    )
    fetch_timeout: float = Field(default=60.0, gt=0, le=3600, description="Seconds to fetch a media URL.")
    max_media_bytes: int = Field(
        default=2 << 30, ge=1024, description="Largest upload or fetched media file, in bytes (default 2 GiB)."
    )
    max_media_seconds: float = Field(default=4 * 3600, gt=0, le=4 * 3600, description="Longest media (Symbl: 4 h).")
    max_text_messages: int = Field(default=20_000, ge=1, description="Most messages in one text submission.")
    tracker_threshold: float = Field(
        default=0.4, ge=0.2, le=0.95, description="Lowest cosine similarity at which any tracker may match."
    )
    asr_model: str = Field(
        default="tiny.en",
        description="Speech model: tiny.en (bundled), base (bundled, multilingual) or a faster-whisper model path "
        "or name (names download from Hugging Face, so only with internet).",
    )
    phone_enhancement: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="mode=phone: pre-emphasis and bandwidth extension of 8 kHz audio before recognition. auto: on "
        "for tiny.en, where it lowered WER on 8 kHz calls, off for other models (base did not gain; "
        "benchmarks/RESULTS.md).",
    )
    audio_window_seconds: float = Field(
        default=120.0,
        ge=30,
        le=3600,
        description="Audio is recognised in windows of this length (cut in a pause), so recognition's memory does "
        "not grow with the recording. Longer windows cost memory (≈ +180 MB peak at 300 s), shorter ones re-recognise "
        "their 20-s margins more often.",
    )
    worker_malloc_arenas: int = Field(
        default=2,
        ge=0,
        description="glibc malloc arenas per worker process (MALLOC_ARENA_MAX; an explicit MALLOC_ARENA_MAX in the "
        "environment wins). glibc's default, 8 per core, let CTranslate2's and ONNX Runtime's threads fragment the "
        "heap: 2 lowered a 15-minute base job's peak RSS from 1.6 to 1.4 GB. 0 keeps glibc's default.",
    )
    report_expiry_default: int = Field(
        default=30 * 86400, ge=0, description="Default summaryURLExpiresIn of report links (s; 0 = never)."
    )

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError("database_url must be sqlite:///<file> or postgresql://…")
        return value

    @model_validator(mode="after")
    def _backoff(self) -> EngineSettings:
        if self.webhook_backoff_initial > self.webhook_backoff_max:
            raise ValueError("webhook_backoff_initial must not exceed webhook_backoff_max")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'engine.db').resolve()}"

    @property
    def enhance_phone_audio(self) -> bool:
        """Whether mode=phone enhances the audio for the configured model."""
        return self.phone_enhancement == "on" or (self.phone_enhancement == "auto" and self.asr_model == "tiny.en")

    def language_refusal(self, language_code: str) -> str | None:
        """Why the speech model cannot recognise ``language_code`` (e.g. ``fr-FR``), or None: tiny.en and any model
        named *.en are English-only."""
        if self.asr_model.endswith(".en") and language_code.split("-")[0].lower() != "en":
            return (
                f"languageCode {language_code} needs a multilingual speech model; this engine runs "
                f"{self.asr_model}, which is English-only (CALLSCOPE_ENGINE_ASR_MODEL=base covers Whisper's languages)"
            )
        return None

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
