"""Speaker analytics (reference §6.7) from message timings: talk and listen time, silence, overlap and pace.

Percentages as Symbl: metrics relative to the conversation's length (overlap relative to total talk time); a
member's talk/listen time relative to total talk time; an overlapping member's share relative to the union of both
speakers' talk time. Needs no model, so the API can recompute it after a speaker update."""

from __future__ import annotations

from typing import Any

Interval = tuple[float, float]


def union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def length(intervals: list[Interval]) -> float:
    return sum(end - start for start, end in union(intervals))


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    for s1, e1 in union(a):
        for s2, e2 in union(b):
            if min(e1, e2) > max(s1, s2):
                out.append((max(s1, s2), min(e1, e2)))
    return out


def speech(words: list[Interval], message: Interval, bridge: float = 0.5) -> list[Interval]:
    """When a message's speaker was talking: its words' spans with pauses shorter than ``bridge`` s closed, so
    overlap between speakers is measured where both were actually speaking (per-channel audio recognises each
    speaker on their own channel, so these spans can truly overlap); the message's span when it has no words."""
    spans: list[Interval] = []
    for start, end in union(words):
        if spans and start - spans[-1][1] < bridge:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans or [message]


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 3) if whole > 0 else 0.0


def analytics(messages: list[dict[str, Any]], members: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """``messages`` carry ``speaker`` (member id), ``spans`` (when they spoke, see :func:`speech`) and
    ``wordCount``."""
    spans: dict[str, list[Interval]] = {m["id"]: [] for m in members}
    words: dict[str, int] = {m["id"]: 0 for m in members}
    for message in messages:
        spans.setdefault(message["speaker"], []).extend(message["spans"])
        words[message["speaker"]] = words.get(message["speaker"], 0) + message["wordCount"]
    everyone = [i for s in spans.values() for i in s]
    talk = length(everyone)
    total = max(duration, max((e for _, e in everyone), default=0.0))
    overlap_all: list[Interval] = []
    ids = list(spans)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            overlap_all.extend(intersect(spans[a], spans[b]))
    overlap = length(overlap_all)
    out_members = []
    for member in members:
        mine = length(spans[member["id"]])
        overlapping = []
        for other in members:
            if other["id"] == member["id"]:
                continue
            seconds = length(intersect(spans[member["id"]], spans[other["id"]]))
            if seconds > 0:
                both = length(spans[member["id"]] + spans[other["id"]])
                overlapping.append(
                    {
                        "id": other["id"],
                        "name": other["name"],
                        "userId": other.get("email") or other["name"],
                        "percent": _pct(seconds, both),
                        "seconds": round(seconds, 3),
                    }
                )
        out_members.append(
            {
                "id": member["id"],
                "name": member["name"],
                "userId": member.get("email") or member["name"],
                "pace": {"wpm": round(words.get(member["id"], 0) / (mine / 60.0)) if mine > 0 else 0},
                "talkTime": {"percentage": _pct(mine, talk), "seconds": round(mine, 3)},
                "listenTime": {"percentage": _pct(talk - mine, talk), "seconds": round(talk - mine, 3)},
                "overlap": {
                    "overlapDuration": round(sum(o["seconds"] for o in overlapping), 3),
                    "overlappingMembers": overlapping,
                },
            }
        )
    return {
        "metrics": [
            {
                "type": "total_silence",
                "percent": _pct(total - talk, total),
                "seconds": round(max(0.0, total - talk), 3),
            },
            {"type": "total_talk_time", "percent": _pct(talk, total), "seconds": round(talk, 3)},
            {"type": "total_overlap", "percent": _pct(overlap, talk), "seconds": round(overlap, 3)},
        ],
        "members": out_members,
    }
