"""Typed models of the Symbl API: request parameters (validated before sending) and responses (tolerant of unknown
fields). Field names are the API's camelCase; Python code uses snake_case."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

LANGUAGES = frozenset(
    {
        "en-US",
        "en-GB",
        "en-AU",
        "en-IE",
        "en-IN",
        "en-ZA",
        "ru-RU",
        "fr-CA",
        "fr-FR",
        "de-DE",
        "it-IT",
        "nl-NL",
        "ja-JP",
        "es-US",
        "es-ES",
        "ar-SA",
        "hi-IN",
        "pt-BR",
        "pt-PT",
        "fa-IR",
    }
)
JobStatus = Literal["scheduled", "in_progress", "completed", "failed"]
TRACKER_PHRASE = re.compile(r"^[\w\s.'-]+$", re.UNICODE)


class ApiModel(BaseModel):
    """A response object: camelCase on the wire, unknown fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class ParamModel(BaseModel):
    """A request object: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# ---- request parameters (reference §4.3) --------------------------------------------------------------------------
class SpeakerInfo(ParamModel):
    name: str | None = None
    email: str | None = None


class ChannelMetadata(ParamModel):
    channel: int = Field(ge=1)
    speaker: SpeakerInfo


class TrackerSpec(ParamModel):
    """An inline tracker (``name`` + ``vocabulary``) or a reference to a managed one (``id``)."""

    id: str | None = None
    name: str | None = Field(default=None, min_length=1)
    vocabulary: list[str] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> TrackerSpec:
        if self.id is None and (self.name is None or not self.vocabulary):
            raise ValueError("trackers: give an id, or a name with a non-empty vocabulary")
        for phrase in self.vocabulary or []:
            check_tracker_phrase(phrase, "trackers.vocabulary")
        return self


def check_tracker_phrase(phrase: str, field: str) -> None:
    if not phrase.strip() or not TRACKER_PHRASE.match(phrase):
        raise ValueError(f"{field}: {phrase!r} may use only letters, digits, spaces and the punctuation . ' -")


class CustomEntity(ParamModel):
    custom_type: str = Field(min_length=1)
    text: str = Field(min_length=1)
    value: str | None = None


class Features(ParamModel):
    feature_list: list[Literal["insights", "callScore"]] = Field(min_length=1)


class SalesMetadata(ParamModel):
    sales_stage: Literal["qualification", "discovery", "demo", "negotiation", "general"] | None = None
    prospect_name: str | None = None


class ProcessOptions(ParamModel):
    """Parameters shared by audio (file and URL) and text submissions."""

    name: str | None = None
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    custom_vocabulary: list[str] | None = None
    confidence_threshold: float | None = Field(default=None, ge=0.5, le=1.0)
    detect_phrases: bool | None = None
    detect_entities: bool | None = None
    entities: list[CustomEntity] | None = None
    language_code: str | None = None
    mode: Literal["phone", "default"] | None = None
    enable_separate_recognition_per_channel: bool | None = None
    channel_metadata: list[ChannelMetadata] | None = None
    enable_speaker_diarization: bool | None = None
    diarization_speaker_count: int | None = Field(default=None, ge=1)
    trackers: list[TrackerSpec] | None = None
    enable_all_trackers: bool | None = None
    enable_summary: bool | None = None
    timezone_offset: int | None = Field(default=None, ge=-720, le=840, description="minutes from UTC")
    features: Features | None = Field(default=None, description="2023+: Call Score / Insights UI")
    metadata: SalesMetadata | None = Field(default=None, description="2023+: sales stage and prospect")
    conversation_type: Literal["sales", "general"] | None = Field(default=None, description="2023+: Call Score")

    @field_validator("language_code")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is not None and v not in LANGUAGES:
            raise ValueError(f"languageCode {v!r} is not supported; one of {', '.join(sorted(LANGUAGES))}")
        return v

    @model_validator(mode="after")
    def _combinations(self) -> ProcessOptions:
        if self.channel_metadata and not self.enable_separate_recognition_per_channel:
            raise ValueError("channelMetadata needs enableSeparateRecognitionPerChannel=true")
        if self.diarization_speaker_count is not None and not self.enable_speaker_diarization:
            raise ValueError("diarizationSpeakerCount needs enableSpeakerDiarization=true")
        if self.enable_speaker_diarization and self.diarization_speaker_count is None:
            raise ValueError("enableSpeakerDiarization needs diarizationSpeakerCount (≥ 1)")
        if self.channel_metadata:
            channels = [c.channel for c in self.channel_metadata]
            if len(set(channels)) != len(channels):
                raise ValueError("channelMetadata: each channel may appear once")
        return self

    def query(self) -> dict[str, str]:
        """Query parameters for the file endpoints: lowercase booleans, JSON-encoded lists and objects."""
        out: dict[str, str] = {}
        for key, value in self.wire().items():
            if isinstance(value, bool):
                out[key] = "true" if value else "false"
            elif isinstance(value, list | dict):
                out[key] = json.dumps(value, separators=(",", ":"))
            else:
                out[key] = str(value)
        return out


class AudioUrlRequest(ProcessOptions):
    url: str = Field(pattern=r"^https?://", description="a public http(s) URL of the recording")
    start_time: datetime | None = Field(default=None, description="2023+: when the conversation started")


class TextFrom(ParamModel):
    user_id: str | None = None
    name: str | None = None


class TextDuration(ParamModel):
    start_time: datetime
    end_time: datetime


class TextPayload(ParamModel):
    content: str = Field(min_length=1)
    content_type: str | None = None


class TextMessage(ParamModel):
    payload: TextPayload
    from_: TextFrom | None = Field(default=None, alias="from", validation_alias=AliasChoices("from", "from_"))
    duration: TextDuration | None = None


class TextRequest(ProcessOptions):
    messages: list[TextMessage] = Field(min_length=1)

    @model_validator(mode="after")
    def _audio_only(self) -> TextRequest:
        audio_only = (
            "custom_vocabulary",
            "language_code",
            "mode",
            "enable_separate_recognition_per_channel",
            "channel_metadata",
            "enable_speaker_diarization",
            "diarization_speaker_count",
        )
        used = [to_camel(f) for f in audio_only if getattr(self, f) is not None]
        if used:
            raise ValueError(f"text submissions do not take {', '.join(used)}")
        return self


# ---- responses ----------------------------------------------------------------------------------------------------
class Token(ApiModel):
    access_token: str
    expires_in: int = 86400


class JobRef(ApiModel):
    """201 from every Async API submission."""

    conversation_id: str
    job_id: str


class Job(ApiModel):
    id: str
    status: JobStatus
    message: str | None = Field(default=None, description="why a failed job failed (callscope's engine sends it)")


class WebhookPayload(ApiModel):
    job_id: str
    status: JobStatus


class Member(ApiModel):
    id: str | None = None
    name: str | None = None
    email: str | None = None
    user_id: str | None = None


class Conversation(ApiModel):
    id: str
    type: str = "meeting"
    name: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    members: list[Member] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Conversations(ApiModel):
    conversations: list[Conversation]


class Polarity(ApiModel):
    score: float


class Sentiment(ApiModel):
    polarity: Polarity
    suggested: Literal["positive", "neutral", "negative"] | str


class Phrase(ApiModel):
    type: str
    text: str


class Word(ApiModel):
    word: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    score: float | None = None
    time_offset: float | None = None
    duration: float | None = None
    speaker_tag: float | None = None


class Message(ApiModel):
    id: str
    text: str
    from_: Member | None = Field(default=None, alias="from")
    start_time: datetime | None = None
    end_time: datetime | None = None
    time_offset: float | None = None
    duration: float | None = None
    conversation_id: str | None = None
    phrases: list[Phrase] = Field(default_factory=list)
    sentiment: Sentiment | None = None
    words: list[Word] = Field(default_factory=list)


class Messages(ApiModel):
    messages: list[Message]


class Members(ApiModel):
    members: list[Member]


class ParentRef(ApiModel):
    type: str
    text: str


class Topic(ApiModel):
    id: str
    text: str
    type: str = "topic"
    score: float | None = None
    message_ids: list[str] = Field(default_factory=list)
    sentiment: Sentiment | None = None
    parent_refs: list[ParentRef] = Field(default_factory=list)


class Topics(ApiModel):
    topics: list[Topic]


class InsightEntity(ApiModel):
    type: str
    text: str | None = None
    offset: int | None = None
    value: Any = None
    start: Any = None
    end: Any = None


class Insight(ApiModel):
    """A question, follow-up or action item."""

    id: str
    text: str
    type: Literal["question", "follow_up", "action_item"] | str
    score: float | None = None
    message_ids: list[str] = Field(default_factory=list)
    message_refs: list[dict[str, Any]] = Field(default_factory=list)
    entities: list[InsightEntity] = Field(default_factory=list)
    phrases: list[Phrase] = Field(default_factory=list)
    from_: Member | None = Field(default=None, alias="from")
    assignee: Member | None = None
    definitive: bool | None = None
    due_by: datetime | None = None


class Questions(ApiModel):
    questions: list[Insight]


class FollowUps(ApiModel):
    follow_ups: list[Insight]


class ActionItems(ApiModel):
    action_items: list[Insight]


class Insights(ApiModel):
    insights: list[Insight]


class Metric(ApiModel):
    type: str
    percent: float | None = None
    seconds: float | None = None


class Share(ApiModel):
    percentage: float | None = None
    seconds: float | None = None


class OverlappingMember(ApiModel):
    id: str | None = None
    name: str | None = None
    user_id: str | None = None
    percent: float | None = None
    seconds: float | None = None


class Overlap(ApiModel):
    overlap_duration: float | None = None
    overlapping_members: list[OverlappingMember] = Field(default_factory=list)


class Pace(ApiModel):
    wpm: float


class MemberAnalytics(ApiModel):
    id: str | None = None
    name: str | None = None
    user_id: str | None = None
    pace: Pace | None = None
    talk_time: Share | None = None
    listen_time: Share | None = None
    overlap: Overlap | None = None


class Analytics(ApiModel):
    metrics: list[Metric] = Field(default_factory=list)
    members: list[MemberAnalytics] = Field(default_factory=list)


class Ref(ApiModel):
    id: str
    text: str | None = None
    offset: int | None = None
    type: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None


class TrackerMatch(ApiModel):
    type: str = "vocabulary"
    value: str
    message_refs: list[Ref] = Field(default_factory=list)
    insight_refs: list[Ref] = Field(default_factory=list)


class DetectedTracker(ApiModel):
    id: str
    name: str
    matches: list[TrackerMatch] = Field(default_factory=list)


class Entity(ApiModel):
    type: str
    sub_type: str | None = None
    category: str | None = None
    custom_type: str | None = None
    value: Any = None
    text: str | None = None
    message_refs: list[Ref] = Field(default_factory=list)
    matches: list[dict[str, Any]] = Field(default_factory=list)


class Entities(ApiModel):
    entities: list[Entity]


class SummaryItem(ApiModel):
    id: str
    text: str
    message_refs: list[Ref] = Field(default_factory=list)
    start_time: datetime | None = None
    end_time: datetime | None = None


class Summary(ApiModel):
    summary: list[SummaryItem]


class TranscriptBody(ApiModel):
    payload: str
    content_type: str


class Transcript(ApiModel):
    transcript: TranscriptBody


class MessageResponse(ApiModel):
    message: str


class ConversationMetadata(ApiModel):
    id: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class Tracker(ApiModel):
    id: str
    name: str
    vocabulary: list[str] = Field(default_factory=list)
    description: str | None = None
    categories: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    exclude_vocabulary: list[str] = Field(default_factory=list)
    created_on: datetime | None = None
    updated_on: datetime | None = None


class TrackerDeleted(ApiModel):
    id: str
    type: str = "tracker"
    deleted: bool = True


class TrackerDefinition(ParamModel):
    """A tracker to create or update: 5–50 vocabulary phrases (≥ 1 accepted), punctuation . ' - only, no duplicates."""

    name: str = Field(min_length=1, max_length=200)
    vocabulary: list[str] = Field(min_length=1, max_length=50)
    description: str | None = None
    categories: list[str] | None = None
    languages: list[str] | None = None

    @field_validator("vocabulary")
    @classmethod
    def _phrases(cls, v: list[str]) -> list[str]:
        for phrase in v:
            check_tracker_phrase(phrase, "vocabulary")
        lowered = [p.strip().lower() for p in v]
        if len(set(lowered)) != len(lowered):
            raise ValueError("vocabulary: duplicate phrases are not allowed")
        return v


class ExperienceColor(ParamModel):
    background: str | None = None
    topics_filter: str | None = None
    insights_filter: str | None = None


class ExperienceFont(ParamModel):
    family: str


class ExperienceRequest(ParamModel):
    """POST /v1/conversations/{id}/experiences."""

    name: Literal["verbose-text-summary", "video-summary", "audio-summary"]
    audio_url: str | None = None
    video_url: str | None = None
    logo: str | None = None
    favicon: str | None = None
    color: ExperienceColor | None = None
    font: ExperienceFont | None = None
    summary_url_expires_in: int | None = Field(default=None, ge=0, alias="summaryURLExpiresIn")
    read_only: bool | None = None
    enable_custom_domain: bool | None = None

    @model_validator(mode="after")
    def _media(self) -> ExperienceRequest:
        if self.name == "audio-summary" and not self.audio_url:
            raise ValueError("audio-summary needs audioUrl (the URL submitted for this conversation)")
        if self.name == "video-summary" and not self.video_url:
            raise ValueError("video-summary needs videoUrl")
        return self


class Experience(ApiModel):
    name: str | None = None
    url: str
