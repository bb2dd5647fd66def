"""The SQL schema as SQLModel tables (used through SQLAlchemy Core for bulk work)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json() -> Any:
    return Field(sa_type=JSONType)


def _utc(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "callscope_schema"
    version: int = Field(primary_key=True)
    description: str
    applied_at: datetime = _utc()


class RecordingRow(SQLModel, table=True):
    __tablename__ = "recordings"
    id: str = Field(primary_key=True, max_length=64)
    content_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    source_uri: str
    file_name: str
    added_at: datetime = _utc()
    duration_s: float
    recording_url: str | None = None
    language_code: str
    timezone_offset: int
    custom_vocabulary: list[str] = _json()
    business_name: str | None = Field(default=None, index=True)
    speaker_count: int | None = None
    separate_channels: bool
    speakers: list[dict[str, Any]] = _json()
    meta: dict[str, Any] = Field(sa_column=Column("metadata", JSONType, nullable=False))


class RequestRow(SQLModel, table=True):
    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("recording_id", "part"),
        Index("ix_requests_status_requested", "status", "requested_at", "id"),
    )
    id: str = Field(primary_key=True, max_length=80)
    recording_id: str = Field(foreign_key="recordings.id", max_length=64)
    part: int
    duration_s: float
    status: str = Field(max_length=16)
    history: list[dict[str, Any]] = _json()
    conversation_id: str | None = Field(default=None, index=True, max_length=64)
    job_id: str | None = Field(default=None, sa_column=Column(String(64), unique=True, nullable=True))
    requested_at: datetime = _utc()
    submitted_at: datetime | None = _utc(nullable=True)
    updated_at: datetime = _utc()
    attempts: int
    last_error: str | None = None
    webhook_token: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    idempotency_key: str | None = Field(default=None, max_length=64)
    version: int


class IntelligenceItemRow(SQLModel, table=True):
    __tablename__ = "intelligence_items"
    conversation_id: str = Field(primary_key=True, max_length=64)
    api: str = Field(primary_key=True, max_length=32)
    idx: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    payload: dict[str, Any] = _json()
    fetched_at: datetime = _utc()


class BusinessUXRow(SQLModel, table=True):
    __tablename__ = "business_ux"
    business_name: str = Field(primary_key=True)
    logo_url: str | None = None
    favicon_url: str | None = None
    colors: dict[str, str] = _json()
    font: str | None = None
    options: dict[str, Any] = _json()


class ExperienceRow(SQLModel, table=True):
    __tablename__ = "experiences"
    conversation_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    url: str
    expires_at: datetime | None = _utc(nullable=True)
    created_at: datetime = _utc()


class AdmissionRow(SQLModel, table=True):
    """One row that claimers lock to take turns (PostgreSQL)."""

    __tablename__ = "admission"
    id: int = Field(primary_key=True)


recordings = RecordingRow.__table__  # type: ignore[attr-defined]
requests = RequestRow.__table__  # type: ignore[attr-defined]
items = IntelligenceItemRow.__table__  # type: ignore[attr-defined]
business_ux = BusinessUXRow.__table__  # type: ignore[attr-defined]
experiences = ExperienceRow.__table__  # type: ignore[attr-defined]
admission = AdmissionRow.__table__  # type: ignore[attr-defined]
schema_version = SchemaVersion.__table__  # type: ignore[attr-defined]
