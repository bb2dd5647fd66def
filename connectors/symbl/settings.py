"""Settings of the Symbl-API client (environment prefix ``CALLSCOPE_SYMBL_``, ``.env`` supported)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SymblSettings(BaseSettings):
    """Where the provider is and how to talk to it. Secrets are ``SecretStr``: never printed."""

    model_config = SettingsConfigDict(env_prefix="CALLSCOPE_SYMBL_", env_file=".env", extra="ignore")

    base_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8177"),
        description="Base URL of a Symbl-compatible API: callscope's engine or any compatible endpoint.",
    )
    app_id: str | None = Field(default=None, description="appId for POST /oauth2/token:generate.")
    app_secret: SecretStr | None = Field(default=None, description="appSecret for POST /oauth2/token:generate.")
    token: SecretStr | None = Field(
        default=None, description="A ready access token; used instead of app id/secret (not renewable)."
    )
    connect_timeout: float = Field(default=5.0, gt=0, le=120, description="Seconds to open a connection.")
    read_timeout: float = Field(
        default=180.0, gt=0, le=3600, description="Seconds to wait for a response (seed 002: allow 3 minutes)."
    )
    write_timeout: float = Field(default=300.0, gt=0, le=7200, description="Seconds to send a request body.")
    max_retries: int = Field(default=4, ge=0, le=20, description="Retries of a transient failure.")
    backoff_initial: float = Field(default=0.5, gt=0, le=60, description="First retry delay in seconds.")
    backoff_max: float = Field(default=20.0, gt=0, le=600, description="Cap on one retry delay in seconds.")
    token_refresh_margin: float = Field(
        default=300.0, ge=0, le=3600, description="Renew the token this many seconds before it expires."
    )
    trackers_api: Literal["2022", "2023"] = Field(
        default="2023",
        description="Trackers Management API generation: 2022 singular paths + PUT, or 2023 plural, bulk and PATCH.",
    )
    upload_chunk_size: int = Field(
        default=1 << 20, ge=4096, le=64 << 20, description="Bytes read from disk per chunk of a streamed upload."
    )

    @model_validator(mode="after")
    def _credentials(self) -> SymblSettings:
        if (self.app_id is None) != (self.app_secret is None):
            raise ValueError("app_id and app_secret go together")
        if self.backoff_initial > self.backoff_max:
            raise ValueError("backoff_initial must not exceed backoff_max")
        return self

    @property
    def api_root(self) -> str:
        return str(self.base_url).rstrip("/")
