"""The data model (DESIGN.md, seed 002 step 1): validated at the edge, shared by every backend."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_PART_SECONDS = 4 * 3600


def utcnow() -> datetime:
    return datetime.now(UTC)


def stamp() -> datetime:
    """Now to the millisecond, for the times the repository records: the finest every backend keeps (BSON dates
    hold milliseconds), so what a write returns equals what a read gives back."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class RequestStatus(StrEnum):
    """Life cycle of one async request. The provider's four are scheduled, in_progress, completed, failed."""

    PENDING = "pending"
    SUBMITTING = "submitting"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FETCHED = "fetched"
    STORED = "stored"
    REPORTED = "reported"
    FAILED = "failed"


S = RequestStatus
ACTIVE: frozenset[RequestStatus] = frozenset({S.SUBMITTING, S.SCHEDULED, S.IN_PROGRESS})

# Allowed moves. `failed` is reachable from every state; `failed → pending` is an explicit retry;
# `submitting → pending` is a release (the provider answered 429). Webhooks may be lost, so skips forward are allowed.
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.PENDING: frozenset({S.SUBMITTING, S.FAILED}),
    S.SUBMITTING: frozenset({S.PENDING, S.SCHEDULED, S.IN_PROGRESS, S.COMPLETED, S.FAILED}),
    S.SCHEDULED: frozenset({S.IN_PROGRESS, S.COMPLETED, S.FAILED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED}),
    S.COMPLETED: frozenset({S.FETCHED, S.FAILED}),
    S.FETCHED: frozenset({S.STORED, S.FAILED}),
    S.STORED: frozenset({S.REPORTED, S.FAILED}),
    S.REPORTED: frozenset({S.FAILED}),
    S.FAILED: frozenset({S.PENDING}),
}


def can_transition(current: RequestStatus, to: RequestStatus) -> bool:
    """True when ``current → to`` is a legal move (staying in place is always legal)."""
    return to == current or to in TRANSITIONS[current]


class Speaker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    channel: int | None = Field(default=None, ge=1, le=32, description="1-based channel for per-channel audio")


class NewRecording(BaseModel):
    """A recording as ingest registers it (seed 002's conversation metadata)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    content_hash: str = Field(description="SHA-256 hex of the recording's bytes; the idempotency key")
    source_uri: str = Field(min_length=1)
    file_name: str = Field(min_length=1, max_length=500)
    duration_s: float = Field(gt=0, description="length of the recording in seconds")
    recording_url: str | None = Field(default=None, description="URL given to the provider (url endpoints)")
    language_code: str = Field(default="en-US", pattern=r"^[a-z]{2}-[A-Z]{2}$")
    timezone_offset: int = Field(default=0, ge=-720, le=840, description="minutes from UTC")
    custom_vocabulary: list[str] = Field(default_factory=list)
    business_name: str | None = None
    speaker_count: int | None = Field(default=None, ge=1, le=32)
    separate_channels: bool = False
    speakers: list[Speaker] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("content_hash")
    @classmethod
    def _hex_sha256(cls, v: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{64}", v):
            raise ValueError("content_hash must be 64 lowercase hex characters (SHA-256)")
        return v

    @model_validator(mode="after")
    def _channels(self) -> NewRecording:
        if self.separate_channels:
            channels = [s.channel for s in self.speakers]
            if not channels or any(c is None for c in channels):
                raise ValueError("separate_channels needs speakers, each with its channel")
            if len(set(channels)) != len(channels):
                raise ValueError("speakers: each channel may appear once")
        return self

    @property
    def recording_id(self) -> str:
        """Deterministic id: the same bytes always map to the same recording."""
        return "rec_" + self.content_hash[:24]

    def parts(self) -> int:
        """Number of provider requests needed (recordings over 4 h are appended in parts)."""
        return max(1, -(-int(self.duration_s) // MAX_PART_SECONDS))


class Recording(NewRecording):
    id: str
    added_at: datetime


class StatusChange(BaseModel):
    status: RequestStatus
    at: datetime
    note: str | None = None


class Request(BaseModel):
    """One async request to the provider for one part of a recording."""

    id: str
    recording_id: str
    part: int = Field(ge=0)
    duration_s: float = Field(gt=0, description="length of this part")
    status: RequestStatus = RequestStatus.PENDING
    history: list[StatusChange] = Field(default_factory=list)
    conversation_id: str | None = None
    job_id: str | None = None
    requested_at: datetime
    submitted_at: datetime | None = None
    updated_at: datetime
    attempts: int = 0
    last_error: str | None = None
    webhook_token: str
    idempotency_key: str | None = None
    version: int = Field(default=0, ge=0, description="bumped on every write; the compare-and-set token")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def __repr__(self) -> str:  # the webhook token is a secret
        return f"Request(id={self.id!r}, status={self.status.value!r}, job_id={self.job_id!r})"

    __str__ = __repr__


# Fields a caller may set together with a transition.
UPDATABLE_FIELDS = frozenset({"conversation_id", "job_id", "submitted_at", "last_error", "idempotency_key"})


class IntelligenceApi(StrEnum):
    """The Conversation API each stored collection comes from."""

    CONVERSATION = "conversation"
    MESSAGES = "messages"
    MEMBERS = "members"
    TOPICS = "topics"
    QUESTIONS = "questions"
    FOLLOW_UPS = "follow_ups"
    ACTION_ITEMS = "action_items"
    ANALYTICS = "analytics"
    TRACKERS = "trackers"
    ENTITIES = "entities"
    SUMMARY = "summary"


class Intelligence(BaseModel):
    """One API's items for one conversation, as the provider returned them."""

    conversation_id: str = Field(min_length=1)
    api: IntelligenceApi
    items: list[dict[str, Any]]
    fetched_at: datetime


class BusinessUX(BaseModel):
    """White-labelling for the report page (seed 002's Business-UX table)."""

    model_config = ConfigDict(extra="forbid")

    business_name: str = Field(min_length=1)
    logo_url: str | None = None
    favicon_url: str | None = None
    colors: dict[str, str] = Field(default_factory=dict, description="background, topicsFilter, insightsFilter")
    font: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("colors")
    @classmethod
    def _hex_colors(cls, v: dict[str, str]) -> dict[str, str]:
        for key, color in v.items():
            if not re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", color):
                raise ValueError(f"colors.{key} must be a hex colour like #1a2b3c, got {color!r}")
        return v


class Experience(BaseModel):
    conversation_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    url: str = Field(min_length=1)
    expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Registration(BaseModel):
    """What ``register`` did: the recording, its requests, and whether it was new."""

    recording: Recording
    requests: list[Request]
    created: bool
