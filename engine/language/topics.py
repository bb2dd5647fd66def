"""Topics (reference §6.5): noun-chunk and keyphrase candidates, ranked by how central their embedding is to the
conversation and diversified with maximal marginal relevance; parentRefs link a topic to a broader one it is close
to; sentiment is the mean of the messages that mention the topic."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.ids import derived_id
from engine.language.models import Models
from engine.language.sentiment import polarity
from engine.language.units import Parsed

STOP_HEADS = frozenset(
    {
        "thing",
        "things",
        "lot",
        "bit",
        "way",
        "time",
        "kind",
        "sort",
        "something",
        "anything",
        "everything",
        "nothing",
        "one",
        "guys",
        "yeah",
        "okay",
        "question",
        "today",
        "tomorrow",
        "week",
        "day",
        "call",
        "minute",
        "second",
        "moment",
        "morning",
        "afternoon",
    }
)
MMR_LAMBDA = 0.7
PARENT_SIMILARITY = 0.55


def _candidates(parsed: Parsed) -> dict[str, set[int]]:
    """Normalised phrase → indexes of the messages mentioning it."""
    found: dict[str, set[int]] = {}
    for index, doc in enumerate(parsed.docs):
        for chunk in doc.noun_chunks:
            tokens = [t for t in chunk if not (t.is_stop or t.is_punct or t.pos_ in ("PRON", "DET", "NUM"))]
            if (
                not tokens
                or tokens[-1].lemma_.lower() in STOP_HEADS
                or (tokens[-1].pos_ == "PROPN" and len(tokens) == 1)
            ):
                continue
            phrase = " ".join(t.lemma_.lower() if t is tokens[-1] else t.text.lower() for t in tokens)
            if len(phrase) < 3 or len(tokens) > 4:
                continue
            found.setdefault(phrase, set()).add(index)
    return found


def topics(
    models: Models, parsed: Parsed, texts: list[str], message_scores: list[float], limit: int | None = None
) -> list[dict[str, Any]]:
    """Ranked topics with ``score``, ``messageIndexes``, ``sentiment`` and ``parentRefs``."""
    candidates = _candidates(parsed)
    if not candidates or not texts:
        return []
    limit = limit or max(3, min(15, 2 + len(texts) // 6))
    phrases = list(candidates)
    vectors = models.encode(phrases)
    centroid = models.encode(texts).mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    frequency = np.array([len(candidates[p]) for p in phrases], dtype=np.float32)
    relevance = vectors @ centroid + 0.05 * np.log1p(frequency)
    chosen: list[int] = []
    remaining = list(range(len(phrases)))
    while remaining and len(chosen) < limit:
        redundancy = (vectors[remaining] @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(remaining))
        mmr = MMR_LAMBDA * relevance[remaining] - (1 - MMR_LAMBDA) * redundancy
        pick = remaining[int(mmr.argmax())]
        chosen.append(pick)
        remaining.remove(pick)
    top = float(relevance[chosen].max()) or 1.0
    out = []
    for i in chosen:
        indexes = sorted(candidates[phrases[i]])
        mean = float(np.mean([message_scores[j] for j in indexes])) if indexes else 0.0
        out.append(
            {
                "text": phrases[i],
                "score": round(max(0.0, min(1.0, float(relevance[i]) / top)), 4),
                "messageIndexes": indexes,
                "sentimentScore": mean,
                "vector": vectors[i],
            }
        )
    for topic in out:  # a broader parent: a shorter, higher-ranked topic close in meaning
        parents = [
            other["text"]
            for other in out
            if other is not topic
            and other["score"] >= topic["score"]
            and len(other["text"]) <= len(topic["text"])
            and float(topic["vector"] @ other["vector"]) >= PARENT_SIMILARITY
        ]
        topic["parentRefs"] = [{"type": "topic", "text": p} for p in parents[:2]]
    for topic in out:
        del topic["vector"]
    return out


def shape(found: list[dict[str, Any]], messages: list[dict[str, Any]], conversation_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": derived_id(conversation_id, "topic", t["text"]),
            "text": t["text"],
            "type": "topic",
            "score": t["score"],
            "messageIds": [messages[i]["id"] for i in t["messageIndexes"]],
            "sentiment": polarity(t["sentimentScore"]),
            "parentRefs": t["parentRefs"],
        }
        for t in found
    ]
