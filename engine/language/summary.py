"""An extractive summary (reference §6.9): the most central sentences, diversified, in the order they were said."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.ids import derived_id
from engine.language.models import Models
from engine.language.units import Parsed

MIN_WORDS = 5


def summary(
    models: Models, parsed: Parsed, messages: list[dict[str, Any]], conversation_id: str
) -> list[dict[str, Any]]:
    sentences = [s for s in parsed.sentences if len(s.text.split()) >= MIN_WORDS]
    if not sentences:
        sentences = parsed.sentences[:1]
    if not sentences:
        return []
    vectors = models.encode([s.text for s in sentences])
    similarity = vectors @ vectors.T
    centrality = similarity.mean(axis=1)
    k = max(1, min(8, round(len(sentences) / 8)))
    chosen: list[int] = []
    remaining = list(range(len(sentences)))
    while remaining and len(chosen) < k:
        redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1) if chosen else np.zeros(len(remaining))
        pick = remaining[int((0.75 * centrality[remaining] - 0.25 * redundancy).argmax())]
        chosen.append(pick)
        remaining.remove(pick)
    out = []
    for i in sorted(chosen, key=lambda j: (sentences[j].message, sentences[j].start)):
        message = messages[sentences[i].message]
        out.append(
            {
                "id": derived_id(conversation_id, "summary", message["id"], sentences[i].start),
                "text": sentences[i].text.strip(),
                "messageRefs": [{"id": message["id"]}],
                "startTime": message["startTime"],
                "endTime": message["endTime"],
            }
        )
    return out
