"""Every Async API parameter of reference §4.3, validated at the edge: from the query string of the file endpoints
(lowercase booleans, JSON-encoded lists and objects) or from the JSON body of the URL and text endpoints. A bad
parameter becomes one Symbl-style ``400 {"message": …}`` naming it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

LANGUAGES = frozenset(
    [
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
    ]
)
VOCABULARY_PHRASE = re.compile(r"^[\w\s.'-]+$", re.UNICODE)


class BadRequest(ValueError):
    """A request the API answers with 400 and this message."""


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Speaker(Wire):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class Channel(Wire):
    channel: int = Field(ge=1, le=32)
    speaker: Speaker


class TrackerRef(Wire):
    id: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    vocabulary: list[str] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _kind(self) -> TrackerRef:
        if self.id is None and (self.name is None or not self.vocabulary):
            raise ValueError("each tracker needs an id, or a name and a non-empty vocabulary")
        for phrase in self.vocabulary or []:
            check_phrase(phrase)
        return self


def check_phrase(phrase: str) -> None:
    if not phrase.strip() or not VOCABULARY_PHRASE.match(phrase):
        raise ValueError(f"vocabulary phrase {phrase!r} may use only letters, digits, spaces and . ' -")


class CustomEntity(Wire):
    custom_type: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=500)
    value: str | None = Field(default=None, max_length=500)


class Features(Wire):
    feature_list: list[Literal["insights", "callScore"]] = Field(min_length=1)


class SalesMetadata(Wire):
    sales_stage: Literal["qualification", "discovery", "demo", "negotiation", "general"] | None = None
    prospect_name: str | None = None


class ProcessParams(Wire):
    """Parameters every submission may carry."""

    name: str | None = Field(default=None, max_length=500)
    webhook_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2000)
    confidence_threshold: float = Field(default=0.5, ge=0.5, le=1.0)
    detect_phrases: bool = False
    detect_entities: bool = False
    entities: list[CustomEntity] = Field(default_factory=list, max_length=1000)
    trackers: list[TrackerRef] = Field(default_factory=list, max_length=500)
    enable_all_trackers: bool = False
    enable_summary: bool = False
    timezone_offset: int = Field(default=0, ge=-720, le=840)
    features: Features | None = None
    metadata: SalesMetadata | None = None
    conversation_type: Literal["sales", "general"] | None = None
    start_time: datetime | None = None


class AudioParams(ProcessParams):
    """Parameters of audio submissions (file and URL)."""

    custom_vocabulary: list[str] = Field(default_factory=list, max_length=1000)
    language_code: str = "en-US"
    mode: Literal["phone", "default"] = "default"
    enable_separate_recognition_per_channel: bool = False
    channel_metadata: list[Channel] = Field(default_factory=list, max_length=32)
    enable_speaker_diarization: bool = False
    diarization_speaker_count: int | None = Field(default=None, ge=1, le=20)

    @field_validator("language_code")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"{value!r} is not a supported language; one of {', '.join(sorted(LANGUAGES))}")
        return value

    @model_validator(mode="after")
    def _speakers(self) -> AudioParams:
        if self.channel_metadata and not self.enable_separate_recognition_per_channel:
            raise ValueError("channelMetadata needs enableSeparateRecognitionPerChannel=true")
        channels = [c.channel for c in self.channel_metadata]
        if len(set(channels)) != len(channels):
            raise ValueError("channelMetadata lists a channel twice")
        if self.enable_speaker_diarization and self.diarization_speaker_count is None:
            raise ValueError("enableSpeakerDiarization needs diarizationSpeakerCount")
        return self


class AudioUrlParams(AudioParams):
    url: str = Field(pattern=r"^\S+$", max_length=4000)


class TextFrom(Wire):
    user_id: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)


class TextDuration(Wire):
    start_time: datetime
    end_time: datetime

    @model_validator(mode="after")
    def _order(self) -> TextDuration:
        if self.end_time < self.start_time:
            raise ValueError("duration.endTime is before duration.startTime")
        return self


class TextPayload(Wire):
    content: str = Field(min_length=1, max_length=100_000)
    content_type: str | None = None


class TextMessage(Wire):
    payload: TextPayload
    from_: TextFrom | None = Field(default=None, alias="from", validation_alias=AliasChoices("from", "from_"))
    duration: TextDuration | None = None


class TextParams(ProcessParams):
    messages: list[TextMessage] = Field(min_length=1)


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith(("function-", "function_"))]
    return ".".join(parts) or "body"


def message_for(error: ValidationError) -> str:
    """One Joi-like sentence for the first problem: ``"confidenceThreshold" must be ≥ 0.5``."""
    first = error.errors()[0]
    where = _location(first["loc"])
    if first["type"] == "extra_forbidden":
        return f'"{where}" is not allowed'
    if first["type"] == "missing":
        return f'"{where}" is required'
    text = first["msg"].removeprefix("Value error, ")
    return f'"{where}" {text}' if where != "body" else text


def parse_body(model: type[Wire], body: Any, *, limit: int | None = None) -> Any:
    """Validate a JSON body against ``model`` or raise BadRequest."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    if limit is not None and isinstance(body.get("messages"), list) and len(body["messages"]) > limit:
        raise BadRequest(f'"messages" may hold at most {limit} messages')
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(message_for(exc)) from None


def parse_query(model: type[Wire], items: list[tuple[str, str]]) -> Any:
    """Validate query parameters against ``model``: booleans must be ``true``/``false``; lists and objects are
    JSON; ``customVocabulary`` may also repeat."""
    fields = {f.alias or name: f for name, f in model.model_fields.items()}
    values: dict[str, Any] = {}
    for key, raw in items:
        field = fields.get(key)
        if field is None:
            raise BadRequest(f'"{key}" is not allowed')
        annotation = str(field.annotation)
        if field.annotation is bool:
            if raw not in ("true", "false"):
                raise BadRequest(f'"{key}" must be a boolean (lowercase true or false)')
            values[key] = raw == "true"
        elif annotation.startswith(("list", "typing.List")) or "Features" in annotation or "Metadata" in annotation:
            if key == "customVocabulary" and not raw.lstrip().startswith("["):
                values.setdefault(key, []).append(raw)
                continue
            try:
                values[key] = json.loads(raw)
            except json.JSONDecodeError:
                raise BadRequest(f'"{key}" must be JSON-encoded') from None
        else:
            values[key] = raw
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise BadRequest(message_for(exc)) from None
