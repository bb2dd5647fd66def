"""Sentiment per message and per topic: VADER's lexicon combined with embedding polarity against example phrases,
because the lexicon alone scores business objections ("we ran out of budget") as neutral or positive.
Mapping as Symbl: score < −0.3 negative, > 0.3 positive, otherwise neutral."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.language.models import Models

POSITIVE = [
    "That sounds great, thank you so much.",
    "I'm really happy with how this went.",
    "This is exactly what we need.",
    "We love the product.",
    "Perfect, that works for us.",
    "I'm excited to move forward.",
    "Thanks, that was very helpful.",
    "The results have been excellent.",
]
NEGATIVE = [
    "We ran out of budget.",
    "We don't have the money for this right now.",
    "It's too expensive for us.",
    "I'm not interested.",
    "I'm very disappointed with the service.",
    "This isn't working and we want to cancel.",
    "The delays are a real problem for us.",
    "I'm frustrated, nobody called me back.",
    "We had a lot of issues with the last release.",
    "Unfortunately we have to say no.",
]
LEXICON_WEIGHT = 0.45
EMBEDDING_GAIN = 4.0


def suggested(score: float) -> str:
    return "negative" if score < -0.3 else "positive" if score > 0.3 else "neutral"


def polarity(value: float) -> dict[str, Any]:
    score = round(float(value), 3)
    return {"polarity": {"score": score}, "suggested": suggested(score)}


def scores(models: Models, texts: list[str]) -> list[float]:
    """Polarity in [−1, 1] per text."""
    if not texts:
        return []
    vectors = models.encode(texts)
    pos = (vectors @ models.encode(POSITIVE).T).max(axis=1)
    neg = (vectors @ models.encode(NEGATIVE).T).max(axis=1)
    embedding = np.tanh(EMBEDDING_GAIN * (pos - neg))
    # Only trust the embedding direction when the text is close to one of the examples.
    closeness = np.clip((np.maximum(pos, neg) - 0.25) / 0.35, 0.0, 1.0)
    lexicon = np.array([models.vader.polarity_scores(t)["compound"] for t in texts])
    combined = LEXICON_WEIGHT * lexicon + (1 - LEXICON_WEIGHT) * embedding * closeness
    # A strong lexicon verdict the embedding does not contradict stands on its own.
    combined = np.where((np.abs(lexicon) > 0.6) & (np.sign(embedding) != -np.sign(lexicon)), lexicon, combined)
    return [float(np.clip(v, -1.0, 1.0)) for v in combined]
