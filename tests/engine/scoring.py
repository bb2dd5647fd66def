"""Accuracy of a transcript against a :class:`tests.engine.audio.Conversation`: word error rate, speaker
attribution of the aligned words and talk-time error, for the engine's tests and benchmarks/engine/audio.py."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.engine.audio import Conversation

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
]
_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}


def _number(token: str) -> list[str]:
    value = int(token)
    if value < len(_UNITS):
        return [_UNITS[value]]
    if value < 100:
        return [_TENS[value // 10]] + ([_UNITS[value % 10]] if value % 10 else [])
    return [token]


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation, digits as words (Whisper writes "5" where the script says "five")."""
    out: list[str] = []
    for token in re.findall(r"[a-z0-9']+", text.lower().replace("-", " ")):
        out += _number(token) if token.isdigit() else [token.strip("'")]
    return [t for t in out if t]


@dataclass
class Score:
    wer: float
    words: int
    attribution: float | None  # share of aligned words given to the right speaker
    talk_time_error: float | None  # mean |estimated − true| ÷ true over speakers

    def row(self) -> str:
        parts = [f"WER {self.wer:.3f} ({self.words} words)"]
        if self.attribution is not None:
            parts.append(f"speaker attribution {self.attribution:.3f}")
        if self.talk_time_error is not None:
            parts.append(f"talk-time error {self.talk_time_error:.3f}")
        return ", ".join(parts)


def align(ref: list[str], hyp: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """Edit distance and the (ref index, hyp index) pairs aligned as equal or substituted."""
    n, m = len(ref), len(hyp)
    previous = list(range(m + 1))
    moves = [bytearray(m + 1) for _ in range(n + 1)]  # 0 diagonal, 1 deletion (ref), 2 insertion (hyp)
    for j in range(1, m + 1):
        moves[0][j] = 2
    for i in range(1, n + 1):
        current = [i] + [0] * m
        moves[i][0] = 1
        for j in range(1, m + 1):
            diagonal = previous[j - 1] + (ref[i - 1] != hyp[j - 1])
            deletion, insertion = previous[j] + 1, current[j - 1] + 1
            best = min(diagonal, deletion, insertion)
            current[j] = best
            moves[i][j] = 0 if best == diagonal else 1 if best == deletion else 2
        previous = current
    pairs, i, j = [], n, m
    while i > 0 or j > 0:
        move = moves[i][j]
        if move == 0:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif move == 1:
            i -= 1
        else:
            j -= 1
    return previous[m], pairs[::-1]


def score(conversation: Conversation, messages: list[dict[str, Any]], analytics: dict[str, Any] | None = None) -> Score:
    """``messages`` as GET /messages?verbose=true answers; ``analytics`` as GET /analytics (for talk time)."""
    ref: list[tuple[str, int]] = []
    for turn in sorted(conversation.turns, key=lambda t: t.start):
        ref += [(w, turn.speaker) for w in normalise(turn.text)]
    hyp: list[tuple[str, str, float]] = []
    for message in messages:
        for word in message.get("words") or [{"word": message["text"], "timeOffset": message["timeOffset"]}]:
            hyp += [(w, message["from"]["id"], word["timeOffset"]) for w in normalise(word["word"])]
    hyp.sort(key=lambda h: h[2])
    distance, pairs = align([r[0] for r in ref], [h[0] for h in hyp])
    wer = distance / max(1, len(ref))
    if len(conversation.speakers) < 2 or not pairs:
        return Score(wer, len(ref), None, None)
    votes: dict[str, Counter[int]] = {}
    for i, j in pairs:
        votes.setdefault(hyp[j][1], Counter())[ref[i][1]] += 1
    mapping = {member: count.most_common(1)[0][0] for member, count in votes.items()}
    attribution = sum(mapping[hyp[j][1]] == ref[i][1] for i, j in pairs) / len(pairs)
    talk_error = None
    if analytics is not None:
        estimated: Counter[int] = Counter()
        for member in analytics["members"]:
            if member["id"] in mapping:
                estimated[mapping[member["id"]]] += member["talkTime"]["seconds"]
        truth = {s: conversation.talk_time(s) for s in conversation.speakers}
        errors = [abs(estimated[s] - truth[s]) / truth[s] for s in truth]
        talk_error = sum(errors) / len(errors)
    return Score(wer, len(ref), attribution, talk_error)
