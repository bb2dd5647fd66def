"""Entities (reference §6.8): the custom entities a request names, found wherever their text occurs, and — with
``detectEntities`` — named entities from spaCy (people, organisations, locations, dates resolved to ISO days,
numbers and amounts), each with the messages and offsets where it occurs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from engine.language import dates
from engine.language.units import Parsed

LABELS = {
    "PERSON": "person",
    "ORG": "organization",
    "GPE": "location",
    "LOC": "location",
    "FAC": "location",
    "DATE": "date",
    "TIME": "datetime",
    "MONEY": "number",
    "CARDINAL": "number",
    "QUANTITY": "number",
    "PERCENT": "number",
}


def _ref(message: dict[str, Any], offset: int) -> dict[str, Any]:
    return {"id": message["id"], "text": message["text"], "offset": offset}


def custom(requested: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for entity in requested:
        pattern = re.compile(r"(?<!\w)" + re.escape(entity["text"]) + r"(?!\w)", re.IGNORECASE)
        refs, said = [], entity["text"]
        for message in messages:
            for found in pattern.finditer(message["text"]):
                refs.append(_ref(message, found.start()))
                said = found.group(0)
        if refs:
            out.append(
                {
                    "type": "custom",
                    "customType": entity["customType"],
                    "value": (entity.get("value") or entity["text"]).lower(),
                    "text": said.lower(),
                    "messageRefs": refs,
                }
            )
    return out


def named(
    parsed: Parsed, messages: list[dict[str, Any]], reference: datetime, timezone_offset: int
) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for index, doc in enumerate(parsed.docs):
        for ent in doc.ents:
            kind = LABELS.get(ent.label_)
            if kind is None:
                continue
            value: Any = ent.text
            if kind in ("date", "datetime"):
                moment = dates.resolve(ent.text, reference, timezone_offset)
                if moment is None:
                    continue
                value = moment.date().isoformat() if kind == "date" else dates.iso(moment)
            key = (kind, str(value).lower())
            group = groups.setdefault(key, {"type": kind, "value": value, "text": ent.text, "messageRefs": []})
            group["messageRefs"].append(_ref(messages[index], ent.start_char))
    return list(groups.values())
