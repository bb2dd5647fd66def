"""Every JSON example of the API reference (shared/reference/symbl-api.md) parses into the connector's models."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from connectors.symbl import models as m

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "symbl-api.md"

# The example's keys (or type) → the model it documents.
BY_KEYS: list[tuple[set[str], Any]] = [
    ({"accessToken"}, m.Token),
    ({"url", "confidenceThreshold"}, m.AudioUrlRequest),
    ({"messages", "confidenceThreshold"}, m.TextRequest),
    ({"conversationId", "jobId"}, m.JobRef),
    ({"jobId", "status"}, m.WebhookPayload),
    ({"statusCode", "message"}, m.MessageResponse),
    ({"id", "status"}, m.Job),
    ({"id", "type", "name", "startTime"}, m.Conversation),
    ({"id", "text", "from", "words"}, m.Message),
    ({"members"}, m.Members),
    ({"topics"}, m.Topics),
    ({"questions"}, m.Questions),
    ({"actionItems"}, m.ActionItems),
    ({"metrics", "members"}, m.Analytics),
    ({"entities"}, m.Entities),
    ({"summary"}, m.Summary),
    ({"name", "url"}, m.Experience),
]


def examples() -> list[Any]:
    if not REFERENCE.exists():
        return []
    # The reference elides some timestamps as "…Z"; they stand for full ISO times.
    text = REFERENCE.read_text().replace('"…Z"', '"2020-07-10T11:16:21.024Z"')
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]


def model_for(example: Any) -> Any:
    if isinstance(example, list):
        return list[m.DetectedTracker]
    if set(example) == {"type", "appId", "appSecret"}:
        return None  # the token request body: no response model
    matches = [model for keys, model in BY_KEYS if keys <= set(example)]
    return max(matches, key=lambda mdl: next(len(k) for k, v in BY_KEYS if v is mdl)) if matches else None


@pytest.mark.skipif(not REFERENCE.exists(), reason=f"the API reference is not beside the repository ({REFERENCE})")
def test_every_reference_example_parses() -> None:
    parsed = 0
    for example in examples():
        model = model_for(example)
        if model is None and isinstance(example, dict) and "appId" in example:
            continue
        assert model is not None, f"no model for example with keys {sorted(example)}"
        if isinstance(model, type) and issubclass(model, BaseModel):
            model.model_validate(example)
        else:
            TypeAdapter(model).validate_python(example)
        parsed += 1
    assert parsed >= 18
