"""The optional manifest next to the recordings (``manifest.csv`` or ``manifest.json``): seed 002's conversation
metadata per file. Unknown columns are kept as free metadata (customer, representative, service type, …)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MANIFEST_NAMES = ("manifest.json", "manifest.csv")
KNOWN = {
    "file",
    "url",
    "language_code",
    "timezone_offset",
    "custom_vocabulary",
    "business_name",
    "speaker_count",
    "separate_channels",
    "speakers",
}


class ManifestError(ValueError):
    """The manifest cannot be read; the message names the file, the row and the field."""


class ManifestSpeaker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    email: str | None = None
    channel: int | None = Field(default=None, ge=1, le=32)


class ManifestEntry(BaseModel):
    """One recording's metadata. In CSV, lists are ``|``-separated; speakers are ``Name <email>`` in channel order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    file: str | None = Field(default=None, description="file name relative to the folder")
    url: str | None = Field(default=None, pattern=r"^(https?|s3)://", description="for URL lists")
    language_code: str = Field(default="en-US", pattern=r"^[a-z]{2}-[A-Z]{2}$")
    timezone_offset: int = Field(default=0, ge=-720, le=840, description="minutes from UTC")
    custom_vocabulary: list[str] = Field(default_factory=list)
    business_name: str | None = None
    speaker_count: int | None = Field(default=None, ge=1, le=32)
    separate_channels: bool = False
    speakers: list[ManifestSpeaker] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("custom_vocabulary", mode="before")
    @classmethod
    def _split_words(cls, v: Any) -> Any:
        return [w.strip() for w in v.split("|") if w.strip()] if isinstance(v, str) else v

    @field_validator("speakers", mode="before")
    @classmethod
    def _parse_speakers(cls, v: Any) -> Any:
        if not isinstance(v, str):
            return v
        speakers = []
        for i, item in enumerate(s.strip() for s in v.split("|") if s.strip()):
            found = re.fullmatch(r"(?P<name>[^<]*?)\s*(?:<(?P<email>[^>]+)>)?", item)
            name, email = (found["name"] or None, found["email"]) if found else (item, None)
            speakers.append({"name": name, "email": email, "channel": i + 1})
        return speakers

    @field_validator("separate_channels", mode="before")
    @classmethod
    def _flag(cls, v: Any) -> Any:
        if isinstance(v, str):
            if v.strip().lower() in ("", "false", "no", "0"):
                return False
            if v.strip().lower() in ("true", "yes", "1"):
                return True
        return v

    @model_validator(mode="before")
    @classmethod
    def _free_metadata(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if v not in ("", None)}
            extra = {k: v for k, v in data.items() if k not in KNOWN and k != "metadata"}
            data = {k: v for k, v in data.items() if k in KNOWN or k == "metadata"}
            data["metadata"] = {**data.get("metadata", {}), **extra}
        return data

    @model_validator(mode="after")
    def _channels(self) -> ManifestEntry:
        if self.separate_channels:
            for i, speaker in enumerate(self.speakers):
                if speaker.channel is None:
                    speaker.channel = i + 1
            if not self.speakers:
                raise ValueError("separate_channels needs speakers (one per channel)")
        return self

    @property
    def key(self) -> str | None:
        return self.file or self.url


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Read a CSV or JSON manifest; every bad row is reported, with its number, in one :class:`ManifestError`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read: {exc}") from exc
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path}: not valid JSON: {exc}") from exc
        if isinstance(rows, dict) and isinstance(rows.get("recordings"), list):
            rows = rows["recordings"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ManifestError(f"{path}: expected a list of objects (or {{'recordings': [...]}})")
        first_row = 0
    else:
        rows = list(csv.DictReader(text.splitlines()))
        first_row = 2  # the header is line 1
    entries, problems = [], []
    for i, row in enumerate(rows):
        try:
            entry = ManifestEntry.model_validate(row)
        except ValidationError as exc:
            where = f"line {i + first_row}" if first_row else f"item {i}"
            for err in exc.errors():
                field = ".".join(map(str, err["loc"])) or "row"
                problems.append(f"{where}: {field}: {err['msg']}")
            continue
        if entry.key is None:
            problems.append(f"{'line ' + str(i + first_row) if first_row else 'item ' + str(i)}: needs file or url")
            continue
        entries.append(entry)
    if problems:
        raise ManifestError(f"{path}: " + "; ".join(problems))
    return entries
