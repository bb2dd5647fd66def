"""A conversation's transcript → everything the Conversation API serves, in Symbl's shapes.

A transcript (what a job produces, stored per job) is::

    {"duration": s, "members": [{"id", "name", "email"}],
     "messages": [{"text", "speaker": member id, "start": s, "end": s,
                   "words": [{"word", "start", "end", "score" | None}]}]}

Appended parts are joined in submission order with continuous offsets, then analysed as one conversation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.ids import derived_id
from engine.language import entities, insights, sentiment, summary, topics, trackers
from engine.language.analytics import analytics, speech
from engine.language.dates import iso
from engine.language.models import Models
from engine.language.units import parse


def join(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One transcript from the parts, each shifted by the length of those before it (audio parts' waveform peaks
    joined in the same order)."""
    members: dict[str, dict[str, Any]] = {}
    messages: list[dict[str, Any]] = []
    peaks: list[float] = []
    offset = 0.0
    for part in parts:
        for member in part["members"]:
            members.setdefault(member["id"], member)
        for message in part["messages"]:
            shifted = dict(message)
            shifted["start"], shifted["end"] = message["start"] + offset, message["end"] + offset
            shifted["words"] = [
                {**w, "start": w["start"] + offset, "end": w["end"] + offset} for w in message.get("words", [])
            ]
            messages.append(shifted)
        offset += part["duration"]
        peaks += part.get("peaks", [])
    return {"duration": offset, "members": list(members.values()), "messages": messages, "peaks": peaks}


def apply_members(transcript: dict[str, Any], overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Names and emails set with PUT /members/{id} replace what the job found."""
    members = [{**m, **overrides.get(m["id"], {})} for m in transcript["members"]]
    return {**transcript, "members": members}


def _when(start: datetime, seconds: float) -> str:
    return iso(start + timedelta(seconds=seconds))


def _member_ref(member: dict[str, Any]) -> dict[str, Any]:
    return {"id": member["id"], "name": member["name"]} | ({"email": member["email"]} if member.get("email") else {})


def messages_of(
    transcript: dict[str, Any], conversation_id: str, start: datetime, text_only: bool
) -> list[dict[str, Any]]:
    """Symbl message objects (without sentiment and phrases, added by :func:`analyse`)."""
    members = {m["id"]: m for m in transcript["members"]}
    out = []
    for index, message in enumerate(transcript["messages"]):
        words = []
        tag = list(members).index(message["speaker"]) + 1 if message["speaker"] in members else 0
        for w in message.get("words", []):
            word: dict[str, Any] = {
                "word": w["word"],
                "startTime": _when(start, w["start"]),
                "endTime": _when(start, w["end"]),
                "timeOffset": round(w["start"], 2),
                "duration": round(w["end"] - w["start"], 2),
                "speakerTag": tag,
            }
            if not text_only and w.get("score") is not None:
                word["score"] = round(w["score"], 3)
            words.append(word)
        out.append(
            {
                "id": derived_id(conversation_id, "message", index),
                "text": message["text"],
                "from": _member_ref(members[message["speaker"]]),
                "startTime": _when(start, message["start"]),
                "endTime": _when(start, message["end"]),
                "timeOffset": round(message["start"], 2),
                "duration": round(message["end"] - message["start"], 2),
                "conversationId": conversation_id,
                "phrases": [],
                "words": words,
            }
        )
    return out


def resolve_trackers(
    params: dict[str, Any], managed: list[dict[str, Any]], conversation_id: str
) -> list[trackers.Tracker]:
    """Inline trackers, managed ones referenced by id, and all managed ones with ``enableAllTrackers``."""
    by_id = {t["id"]: t for t in managed}
    chosen: dict[str, trackers.Tracker] = {}
    for spec in params.get("trackers") or []:
        if spec.get("id"):
            found = by_id.get(spec["id"])
            if found is not None:
                chosen[found["id"]] = trackers.Tracker(found["id"], found["name"], found["vocabulary"])
        else:
            tid = derived_id(conversation_id, "tracker", spec["name"])
            chosen[tid] = trackers.Tracker(tid, spec["name"], spec["vocabulary"])
    if params.get("enableAllTrackers"):
        for found in managed:
            chosen.setdefault(found["id"], trackers.Tracker(found["id"], found["name"], found["vocabulary"]))
    return list(chosen.values())


def analyse(
    models: Models,
    transcript: dict[str, Any],
    *,
    conversation_id: str,
    start_time: float,
    params: dict[str, Any],
    tracker_list: list[trackers.Tracker],
    tracker_threshold: float,
    text_only: bool,
) -> dict[str, Any]:
    """Every Conversation API answer for one conversation, ready to store."""
    start = datetime.fromtimestamp(start_time, UTC)
    offset = int(params.get("timezoneOffset") or 0)
    messages = messages_of(transcript, conversation_id, start, text_only)
    texts = [m["text"] for m in messages]
    members = {m["id"]: m for m in transcript["members"]}
    people = {m["id"]: insights.Person(m["id"], m["name"], m.get("email")) for m in transcript["members"]}
    speakers = [people[m["speaker"]] for m in transcript["messages"]]

    parsed = parse(models.nlp, texts)
    polarity = sentiment.scores(models, texts)
    for message, score in zip(messages, polarity, strict=True):
        message["sentiment"] = sentiment.polarity(score)

    threshold = float(params.get("confidenceThreshold") or 0.5)
    found = [f for f in insights.find(parsed, speakers, list(people.values()), start, offset) if f.score >= threshold]
    lists = insights.shape(found, messages, speakers, conversation_id)
    if params.get("detectPhrases"):
        for item in found:
            if item.phrase:
                messages[item.message]["phrases"].append({"type": "action_phrase", "text": item.phrase})
    everything = lists["questions"] + lists["actionItems"] + lists["followUps"]

    hits = trackers.detect(
        models, texts, [m["speaker"] for m in transcript["messages"]], parsed, tracker_list, tracker_threshold
    )
    found_entities = entities.custom(params.get("entities") or [], messages)
    if params.get("detectEntities"):
        found_entities += entities.named(parsed, messages, start, offset)

    timing = [
        {
            "speaker": m["speaker"],
            "spans": speech([(w["start"], w["end"]) for w in m.get("words", [])], (m["start"], m["end"])),
            "wordCount": len(m["text"].split()),
        }
        for m in transcript["messages"]
    ]
    end_seconds = max([transcript["duration"], *(m["end"] for m in transcript["messages"])])
    position = {m["id"]: i for i, m in enumerate(messages)}
    return {
        "startTime": iso(start),
        "endTime": _when(start, end_seconds),
        "members": [_member_ref(m) for m in members.values()],
        "messages": messages,
        "topics": topics.shape(topics.topics(models, parsed, texts, polarity), messages, conversation_id),
        **lists,
        "insights": sorted(everything, key=lambda i: position[i["messageIds"][0]]),
        "analytics": analytics(timing, list(members.values()), transcript["duration"]),
        "trackers": trackers.shape(tracker_list, hits, messages, everything),
        "entities": found_entities,
        "summary": summary.summary(models, parsed, messages, conversation_id),
    }
