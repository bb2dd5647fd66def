"""Text conversations the engine tests submit (seed-style sales calls with known content)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # a Monday, 16:00 UTC

SALES_CALL = [
    ("natalia@example.com", "Natalia", "Hi Mike, thanks for joining the call today."),
    ("mike@example.com", "Mike", "Happy to be here. We have been looking at conversation analytics tools."),
    ("natalia@example.com", "Natalia", "Great. What is the biggest problem your support team has right now?"),
    ("mike@example.com", "Mike", "Honestly we ran out of budget this quarter, so anything new is hard to justify."),
    ("natalia@example.com", "Natalia", "I understand. I will send you a discounted quote by Friday."),
    ("mike@example.com", "Mike", "Please also email the security documents to our IT team."),
    ("natalia@example.com", "Natalia", "Sure. Can you tell me how many agents would use the platform?"),
    ("mike@example.com", "Mike", "About forty agents across two contact centres in Chicago and Denver."),
    ("natalia@example.com", "Natalia", "The onboarding usually takes two weeks and our customers love it."),
    ("mike@example.com", "Mike", "That sounds great. Let me check with my manager and get back to you tomorrow."),
]


def messages(turns: list[tuple[str, str, str]] = SALES_CALL, start: datetime = START) -> list[dict[str, Any]]:
    out, at = [], start
    for user, name, text in turns:
        end = at + timedelta(seconds=max(2.0, len(text.split()) * 0.4))
        out.append(
            {
                "payload": {"content": text},
                "from": {"userId": user, "name": name},
                "duration": {
                    "startTime": at.isoformat().replace("+00:00", "Z"),
                    "endTime": end.isoformat().replace("+00:00", "Z"),
                },
            }
        )
        at = end + timedelta(seconds=1)
    return out


BUDGET_TRACKER = {
    "name": "Budget objection",
    "vocabulary": [
        "we don't have the budget",
        "it's too expensive",
        "we can't afford it",
        "no money left",
        "price is too high",
    ],
}
