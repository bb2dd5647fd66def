"""Questions, action items and follow-ups (reference §6.6), found sentence by sentence from the parse:

- a question ends with "?" or opens with an interrogative or an inverted auxiliary;
- an action item is a commitment ("I'll send…", "we will…", "let me…"), a request or obligation ("you need to…",
  "can you…", "please…", "make sure…") or an imperative, with its assignee (the speaker, the other party, or the
  person named), a due date resolved from the sentence, and its action phrase;
- a follow-up is an action item whose action is getting back in touch: calling, emailing, sending, scheduling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.ids import derived_id
from engine.language import dates
from engine.language.units import Parsed

WH = frozenset({"what", "why", "how", "when", "where", "who", "whom", "whose", "which"})
AUX = frozenset(
    {
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "can",
        "could",
        "would",
        "will",
        "should",
        "have",
        "has",
        "had",
        "may",
        "might",
        "shall",
        "am",
        "won't",
        "don't",
        "doesn't",
        "isn't",
        "aren't",
        "can't",
        "couldn't",
        "wouldn't",
        "shouldn't",
    }
)
COMMIT = re.compile(
    r"\b(i|we)\s*(will|'ll|shall|am going to|are going to|'m going to|'re going to|can)\b|\blet me\b"
    r"|\blet's\b|\blet us\b",
    re.I,
)
REQUEST = re.compile(
    r"\b(you|u)\s*(need to|have to|must|should|will|'ll|'d better)\b|\b(can|could|would|will) you\b"
    r"|\bplease\b|\bmake sure\b|\bdon't forget\b|\bremember to\b|\bneeds? to\b",
    re.I,
)
HEDGE = re.compile(r"\b(maybe|might|perhaps|probably|possibly|try to|hopefully|i guess|i think)\b", re.I)
NOT_ACTIONS = frozenset(
    {
        "be",
        "have",
        "think",
        "know",
        "see",
        "guess",
        "mean",
        "like",
        "love",
        "hope",
        "feel",
        "say",
        "hear",
        "wish",
        "want",
        "seem",
        "need",
        "go",
        "do",
        "get",
        "let",
        "make",
        "can",
    }
)
FOLLOW_UP = frozenset(
    {
        "call",
        "email",
        "e-mail",
        "send",
        "follow",
        "reach",
        "ping",
        "schedule",
        "book",
        "text",
        "message",
        "remind",
        "circle",
        "touch",
        "contact",
        "phone",
        "forward",
        "invite",
    }
)
PHRASAL_FOLLOW_UP = re.compile(
    r"\b(get back to|check in|follow up|touch base|circle back|reach out|set up a "
    r"(call|meeting)|give (you|him|her|them) a (call|ring))\b",
    re.I,
)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str | None


def _speaker_ref(person: Person) -> dict[str, Any]:
    return {"id": person.id, "name": person.name, "userId": person.email or person.name}


def _is_question(sent: Any) -> float:
    text = sent.text.strip()
    words = [t for t in sent if not t.is_punct]
    if len(words) < 2:
        return 0.0
    if text.endswith("?"):
        return 0.95
    first = words[0].lower_
    if first in WH and any(t.dep_ in ("nsubj", "nsubjpass", "aux", "ROOT") for t in words[1:3]):
        return 0.75 if len(words) >= 4 else 0.0
    if (
        first in AUX
        and len(words) > 2
        and words[1].dep_ in ("nsubj", "expl")
        and words[1].lower_ in ("you", "we", "i", "they", "it", "he", "she", "there", "this", "that")
    ):
        return 0.8
    return 0.0


def _action_verb(sent: Any) -> Any | None:
    """The verb that carries the action: the root, or the verb it governs (``need to *send*``, ``let me *check*``)."""
    root = sent.root
    candidates = [root] + [t for t in root.subtree if t.dep_ in ("xcomp", "ccomp", "conj") and t.pos_ == "VERB"]
    for verb in candidates:
        if verb.pos_ in ("VERB", "AUX") and verb.lemma_.lower() not in NOT_ACTIONS:
            return verb
    return None


def _imperative(sent: Any) -> bool:
    words = [t for t in sent if not t.is_punct and t.lower_ not in ("please", "so", "and", "ok", "okay", "now")]
    if not words:
        return False
    first, root = words[0], sent.root
    return (
        first == root
        and root.tag_ == "VB"
        and not any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in root.children)
        and root.lemma_.lower() not in NOT_ACTIONS
    )


@dataclass
class Found:
    kind: str  # question | action_item | follow_up
    message: int
    start: int
    end: int
    text: str
    score: float
    definitive: bool = False
    assignee: dict[str, Any] | None = None
    due: datetime | None = None
    phrase: str | None = None
    entities: list[dict[str, Any]] | None = None


def _named(sent: Any) -> Any | None:
    """The person a sentence is addressed to or about: a vocative ("Vikram, you…") or a PERSON subject."""
    words = [t for t in sent if not t.is_space]
    if len(words) > 2 and words[0].pos_ == "PROPN" and (words[1].text == "," or words[0].dep_ == "npadvmod"):
        return sent.doc[words[0].i : words[0].i + 1]
    for ent in sent.ents:
        if ent.label_ == "PERSON" and ent.root.dep_ in ("nsubj", "nsubjpass", "npadvmod", "dobj"):
            return ent
    return None


def _ref(person: Person) -> dict[str, Any]:
    return {"id": person.id, "name": person.name} | ({"email": person.email} if person.email else {})


def _assignee(
    sent: Any, speaker: Person, others: list[Person], *, addressed: bool
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Who should act: the person named, else the other party of a request, else the speaker who committed."""
    named = _named(sent)
    if named is not None:
        first = named.text.split()[0].lower()
        match = next((p for p in [speaker, *others] if p.name.split()[0].lower() == first), None)
        person = _ref(match) if match else {"name": named.text}
        entity = {
            "type": "person",
            "text": named.text,
            "offset": named.start_char - sent.start_char,
            "value": {"assignee": True, "name": person["name"]},
        }
        return person, [entity]
    if addressed:
        return (_ref(others[0]) if len(others) == 1 else None), []
    return _ref(speaker), []


def find(
    parsed: Parsed,
    speakers: list[Person],
    members: list[Person],
    reference: datetime,
    timezone_offset: int,
) -> list[Found]:
    """Every question, action item and follow-up, in transcript order."""
    out: list[Found] = []
    for index, doc in enumerate(parsed.docs):
        speaker = speakers[index]
        others = [m for m in members if m.id != speaker.id]
        for sent in doc.sents:
            text = sent.text.strip()
            if len(text) < 6:
                continue
            q = _is_question(sent)
            commit, request = COMMIT.search(text), REQUEST.search(text)
            verb = _action_verb(sent)
            imperative = _imperative(sent)
            action = verb is not None and (commit or request or imperative)
            if q and not (action and request and re.search(r"\b(can|could|would|will) you\b", text, re.I)):
                out.append(Found("question", index, sent.start_char, sent.end_char, text, q))
                continue
            if not action or verb is None:
                continue
            hedged = bool(HEDGE.search(text))
            score = (0.92 if commit else 0.88 if request else 0.8) - (0.2 if hedged else 0.0)
            addressed = bool(request or imperative) and not commit
            assignee, entities = _assignee(sent, speaker, others, addressed=addressed)
            due = dates.resolve(text, reference, timezone_offset)
            for ent in sent.ents:
                if ent.label_ in ("DATE", "TIME"):
                    resolved = dates.resolve(ent.text, reference, timezone_offset)
                    entities.append(
                        {
                            "type": "date",
                            "text": ent.text,
                            "offset": ent.start_char - sent.start_char,
                            "value": resolved.date().isoformat() if resolved else ent.text,
                        }
                    )
            phrase_tokens = [t for t in sent[verb.i - sent.start :] if not t.is_punct or t.text in ("'", "-")]
            phrase = " ".join(t.text for t in phrase_tokens).replace(" 's", "'s").replace(" n't", "n't")
            follow = verb.lemma_.lower() in FOLLOW_UP or bool(PHRASAL_FOLLOW_UP.search(text))
            out.append(
                Found(
                    "follow_up" if follow else "action_item",
                    index,
                    sent.start_char,
                    sent.end_char,
                    text,
                    round(score, 4),
                    definitive=not hedged,
                    assignee=assignee,
                    due=due,
                    phrase=phrase or None,
                    entities=entities,
                )
            )
    return out


def shape(
    found: list[Found], messages: list[dict[str, Any]], speakers: list[Person], conversation_id: str
) -> dict[str, list[dict[str, Any]]]:
    """Symbl's questions / actionItems / followUps lists (each insight has a stable id)."""
    lists: dict[str, list[dict[str, Any]]] = {"question": [], "action_item": [], "follow_up": []}
    for item in found:
        message = messages[item.message]
        body: dict[str, Any] = {
            "id": derived_id(conversation_id, item.kind, message["id"], item.start),
            "text": item.text,
            "type": item.kind,
            "score": item.score,
            "messageIds": [message["id"]],
            "entities": item.entities or [],
            "phrases": [{"type": "action_phrase", "text": item.phrase}] if item.phrase else [],
            "from": _speaker_ref(speakers[item.message]),
        }
        if item.kind != "question":
            body["definitive"] = item.definitive
            if item.assignee:
                body["assignee"] = item.assignee
            if item.due:
                body["dueBy"] = dates.iso(item.due)
        lists[item.kind].append(body)
    return {"questions": lists["question"], "actionItems": lists["action_item"], "followUps": lists["follow_up"]}
