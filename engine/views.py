"""Conversation API answers cut from a stored analysis: query flags (verbose, sentiment, parentRefs), transcripts in
Markdown or SRT, member renames and speaker events. Pure functions over the stored JSON: no models needed."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from engine.language.analytics import analytics, speech


def messages(body: dict[str, Any], *, verbose: bool, sentiment: bool) -> list[dict[str, Any]]:
    out = []
    for message in body["messages"]:
        item = {k: v for k, v in message.items() if k not in ("words", "sentiment")}
        if sentiment:
            item["sentiment"] = message["sentiment"]
        if verbose:
            item["words"] = message["words"]
        out.append(item)
    return out


def topics(body: dict[str, Any], *, sentiment: bool, parent_refs: bool) -> list[dict[str, Any]]:
    out = []
    for topic in body["topics"]:
        item = {k: v for k, v in topic.items() if k != "sentiment"}
        if sentiment:
            item["sentiment"] = topic["sentiment"]
        if not parent_refs:
            item["parentRefs"] = []
        out.append(item)
    return out


def _stamp(seconds: float, srt: bool) -> str:
    whole = int(seconds)
    ms = round((seconds - whole) * 1000)
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}" if srt else f"{h:02d}:{m:02d}:{s:02d}"


def transcript(body: dict[str, Any], content_type: str, *, speakers: bool = True) -> str:
    """The conversation as Markdown (speaker turns) or SRT (one cue per message)."""
    if content_type == "text/srt":
        cues = []
        for n, message in enumerate(body["messages"], 1):
            start, end = message["timeOffset"], message["timeOffset"] + message["duration"]
            who = f"{message['from']['name']}: " if speakers else ""
            cues.append(f"{n}\n{_stamp(start, True)} --> {_stamp(end, True)}\n{who}{message['text']}\n")
        return "\n".join(cues)
    lines = []
    for message in body["messages"]:
        prefix = f"**{message['from']['name']}** ({_stamp(message['timeOffset'], False)}): " if speakers else ""
        lines.append(prefix + message["text"])
    return "\n\n".join(lines)


def rename_member(body: dict[str, Any], member_id: str, name: str, email: str | None) -> dict[str, Any]:
    """The analysis with one member's name and email replaced everywhere it appears."""
    out = copy.deepcopy(body)

    def fix(ref: dict[str, Any] | None, email_key: str) -> None:
        if ref and ref.get("id") == member_id:
            ref["name"] = name
            if email:
                ref[email_key] = email

    for member in out["members"]:
        fix(member, "email")
    for message in out["messages"]:
        fix(message["from"], "email")
    for key in ("questions", "actionItems", "followUps", "insights"):
        for item in out[key]:
            fix(item.get("from"), "userId")
            fix(item.get("assignee"), "email")
    for member in out["analytics"]["members"]:
        fix(member, "userId")
        for other in member["overlap"]["overlappingMembers"]:
            fix(other, "userId")
    return out


def apply_speaker_events(body: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """Attribute each message to the user speaking at its start (PUT /speakers), then recompute members and
    analytics."""
    turns: list[tuple[float, dict[str, Any] | None]] = []
    for event in sorted(events, key=lambda e: e["offset"]["seconds"] + e["offset"].get("nanos", 0) / 1e9):
        at = event["offset"]["seconds"] + event["offset"].get("nanos", 0) / 1e9
        turns.append((at, event["user"] if event["type"] == "started_speaking" else None))
    out = copy.deepcopy(body)
    users: dict[str, dict[str, Any]] = {}
    for message in out["messages"]:
        current = None
        for at, user in turns:
            if at <= message["timeOffset"] + 1e-6:
                current = user
        if current is not None:
            ref = {"id": current["id"], "name": current.get("name") or current["id"]}
            if current.get("email"):
                ref["email"] = current["email"]
            message["from"] = ref
        users.setdefault(message["from"]["id"], message["from"])
    out["members"] = list(users.values())
    by_message = {m["id"]: m["from"] for m in out["messages"]}
    for key in ("questions", "actionItems", "followUps", "insights"):
        for item in out[key]:
            speaker = by_message.get(item["messageIds"][0]) if item["messageIds"] else None
            if speaker:
                item["from"] = {"id": speaker["id"], "name": speaker["name"], "userId": speaker.get("email") or ""}
    timing = [
        {
            "speaker": m["from"]["id"],
            "spans": speech(
                [(w["timeOffset"], w["timeOffset"] + w["duration"]) for w in m.get("words", [])],
                (m["timeOffset"], m["timeOffset"] + m["duration"]),
            ),
            "wordCount": len(m["text"].split()),
        }
        for m in out["messages"]
    ]
    start = datetime.fromisoformat(out["startTime"])
    end = datetime.fromisoformat(out["endTime"])
    out["analytics"] = analytics(timing, out["members"], (end - start) / timedelta(seconds=1))
    return out
