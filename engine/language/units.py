"""The transcript cut into what intelligence works on: messages parsed by spaCy, their sentences, and clauses
(sentences split at punctuation and conjunctions), each with its character span in the message's text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CLAUSE_BREAKS = frozenset({",", ";", ":", "—", "–"})
CLAUSE_WORDS = frozenset({"and", "but", "or", "so", "because", "although", "though", "while", "whereas", "if"})
MIN_CLAUSE_TOKENS = 3


@dataclass(frozen=True)
class Span:
    """A piece of one message (``message`` is its index): a sentence, a clause, or a window over two messages."""

    message: int
    start: int
    end: int
    text: str
    kind: str  # sentence | clause | window


@dataclass
class Parsed:
    docs: list[Any]
    sentences: list[Span]
    clauses: list[Span]


def parse(nlp: Any, texts: list[str]) -> Parsed:
    docs = list(nlp.pipe(texts, batch_size=128))
    sentences: list[Span] = []
    clauses: list[Span] = []
    for index, doc in enumerate(docs):
        for sent in doc.sents:
            text = sent.text.strip()
            if not text:
                continue
            sentences.append(Span(index, sent.start_char, sent.end_char, sent.text, "sentence"))
            clauses.extend(_clauses(index, sent))
    return Parsed(docs, sentences, clauses)


def _clauses(index: int, sent: Any) -> list[Span]:
    pieces: list[list[Any]] = [[]]
    for token in sent:
        if token.text in CLAUSE_BREAKS or (token.lower_ in CLAUSE_WORDS and token.dep_ in ("cc", "mark")):
            pieces.append([])
            continue
        pieces[-1].append(token)
    words = [p for p in pieces if sum(1 for t in p if not t.is_punct) >= MIN_CLAUSE_TOKENS]
    if len(words) < 2:
        return []
    doc_text = sent.doc.text
    out = []
    for piece in words:
        start, end = piece[0].idx, piece[-1].idx + len(piece[-1].text)
        out.append(Span(index, start, end, doc_text[start:end], "clause"))
    return out
