"""Trackers that match meaning, not words (reference §7).

Every sentence, clause and short two-message window is embedded and compared with every vocabulary phrase. A
tracker fires on a message when the best similarity reaches the tracker's own threshold, calibrated against a
background of ordinary call talk: a vocabulary that sits close to everyday sentences needs a higher bar. An exact
occurrence of a phrase always fires and reports its character offset; a semantic match reports −1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.language.models import Models
from engine.language.units import Parsed, Span

# Ordinary call talk that no business tracker should fire on; thresholds are calibrated above it.
BACKGROUND = [
    "Hi, how are you doing today?",
    "Good morning, thanks for taking the time.",
    "Can you hear me okay?",
    "Sorry, you cut out for a second.",
    "Let me share my screen.",
    "I'm doing well, thank you.",
    "Great, let's get started.",
    "Okay, that makes sense.",
    "Yes, exactly.",
    "Could you repeat that please?",
    "Thanks again, talk soon.",
    "Have a great weekend.",
    "The weather has been really nice lately.",
    "I just got back from lunch.",
    "Let me check my notes.",
    "One moment please.",
    "Alright, sounds good.",
    "I'm not sure I follow.",
    "We can wrap up here.",
    "Bye for now.",
    "My name is Alex and I'm calling from the office.",
    "Is now still a good time?",
    "I'll put you on speaker.",
    "Sorry about the background noise.",
    "Let me pull that up on my end.",
    "That was the last item on the agenda.",
    "I appreciate your patience.",
    "We talked about this last week.",
    "Can everyone see the slides?",
    "Hold on, my laptop is restarting.",
]
CALIBRATION_MARGIN = 0.05
MAX_THRESHOLD = 0.8
WINDOW_MAX_WORDS = 14


@dataclass(frozen=True)
class Tracker:
    id: str
    name: str
    vocabulary: list[str]


@dataclass(frozen=True)
class Hit:
    tracker: int
    message: int
    phrase: str
    offset: int
    score: float


def references(models: Models, tracker: Tracker) -> np.ndarray:
    """What a sentence is compared with: each vocabulary phrase, and their normalised mean (the tracker's gist,
    which catches paraphrases close to the whole vocabulary but to no single phrase)."""
    phrases = models.encode(tracker.vocabulary)
    gist = phrases.mean(axis=0)
    gist /= np.linalg.norm(gist) or 1.0
    return np.vstack([phrases, gist[None, :]])


def calibrate(models: Models, reference_vectors: np.ndarray, base: float) -> float:
    """The tracker's threshold: above the closest its references come to ordinary talk, never below ``base``."""
    closest = float((reference_vectors @ models.encode(BACKGROUND).T).max())
    return min(MAX_THRESHOLD, max(base, closest + CALIBRATION_MARGIN))


def _exact(text: str, phrase: str) -> int:
    found = re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text, re.IGNORECASE)
    return found.start() if found else -1


def windows(texts: list[str], speakers: list[str]) -> list[Span]:
    """Short consecutive messages of one speaker joined, so a thought split over two messages can match."""
    out = []
    for i in range(len(texts) - 1):
        a, b = texts[i], texts[i + 1]
        if speakers[i] == speakers[i + 1] and len(a.split()) + len(b.split()) <= WINDOW_MAX_WORDS:
            out.append(Span(i, 0, len(a), f"{a} {b}", "window"))
    return out


def detect(
    models: Models,
    texts: list[str],
    speakers: list[str],
    parsed: Parsed,
    trackers: list[Tracker],
    base_threshold: float,
) -> list[Hit]:
    """One hit per (tracker, message): the exact phrase if one occurs, otherwise the best semantic match."""
    if not trackers or not texts:
        return []
    units: list[Span] = parsed.sentences + parsed.clauses + windows(texts, speakers)
    unit_vectors = models.encode([u.text for u in units])
    best: dict[tuple[int, int], Hit] = {}
    for t_index, tracker in enumerate(trackers):
        reference_vectors = references(models, tracker)
        threshold = calibrate(models, reference_vectors, base_threshold)
        for m_index, text in enumerate(texts):
            for phrase in tracker.vocabulary:
                offset = _exact(text, phrase)
                if offset >= 0:
                    best[(t_index, m_index)] = Hit(t_index, m_index, phrase, offset, 1.0)
                    break
        if not len(unit_vectors):
            continue
        sims = unit_vectors @ reference_vectors.T  # units × (phrases + gist)
        scores = sims.max(axis=1)
        nearest = sims[:, :-1].argmax(axis=1)  # the phrase reported as matched
        for u_index, unit in enumerate(units):
            score = float(scores[u_index])
            if score < threshold:
                continue
            key = (t_index, unit.message)
            current = best.get(key)
            if current is None or (current.offset < 0 and score > current.score):
                best[key] = Hit(t_index, unit.message, tracker.vocabulary[int(nearest[u_index])], -1, score)
    return sorted(best.values(), key=lambda h: (h.tracker, h.message))


def shape(
    trackers: list[Tracker],
    hits: list[Hit],
    messages: list[dict[str, Any]],
    insights: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Symbl's ``trackers-detected`` array: per tracker, matches grouped by the vocabulary phrase that matched."""
    by_message: dict[str, list[dict[str, Any]]] = {}
    for insight in insights:
        for mid in insight["messageIds"]:
            by_message.setdefault(mid, []).append(insight)
    out = []
    for t_index, tracker in enumerate(trackers):
        groups: dict[str, dict[str, Any]] = {}
        for hit in (h for h in hits if h.tracker == t_index):
            message = messages[hit.message]
            group = groups.setdefault(
                hit.phrase, {"type": "vocabulary", "value": hit.phrase, "messageRefs": [], "insightRefs": []}
            )
            group["messageRefs"].append({"id": message["id"], "text": message["text"], "offset": hit.offset})
            for insight in by_message.get(message["id"], []):
                group["insightRefs"].append(
                    {
                        "id": insight["id"],
                        "type": insight["type"],
                        "text": insight["text"],
                        "offset": _exact(insight["text"], hit.phrase),
                    }
                )
        if groups:
            out.append({"id": tracker.id, "name": tracker.name, "matches": list(groups.values())})
    return out
