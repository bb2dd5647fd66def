"""Due dates from the words people say ("by Friday", "tomorrow at 3pm", "in two weeks", "June 22nd"), resolved
against the conversation's start time in the speakers' timezone (``timezoneOffset``, minutes from UTC).

A date without a time is due at local midnight of that day, as in Symbl's examples; the result is ISO UTC."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta, timezone

WEEKDAYS = {name: i for i, name in enumerate(calendar.day_name)} | {
    name[:3]: i for i, name in enumerate(calendar.day_name)
}
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name} | {
    name.lower(): i for i, name in enumerate(calendar.month_abbr) if name
}
NUMBERS = {
    w: i
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    )
}
NUMBERS |= {"a": 1, "an": 1, "a couple of": 2, "a few": 3}

_TIME = re.compile(r"\b(?:at|by|before)?\s*(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?!\w)", re.I)
_NOON = re.compile(r"\b(noon|midday|midnight)\b", re.I)
_IN_N = re.compile(r"\bin\s+(\d+|a couple of|a few|an?|" + "|".join(NUMBERS) + r")\s+(day|week|month)s?\b", re.I)
_WEEKDAY = re.compile(r"\b(next|this|coming)?\s*(" + "|".join(calendar.day_name) + r")\b", re.I)
_MONTH_DAY = re.compile(
    r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b"
    r"|\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b",
    re.I,
)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day(text: str, today: date) -> date | None:
    low = text.lower()
    if "day after tomorrow" in low:
        return today + timedelta(days=2)
    if "tomorrow" in low:
        return today + timedelta(days=1)
    if re.search(r"\b(today|tonight|end of (the )?day|eod|this (afternoon|evening|morning))\b", low):
        return today
    if m := _IN_N.search(low):
        count = int(m.group(1)) if m.group(1).isdigit() else NUMBERS.get(m.group(1), 1)
        unit = m.group(2)
        if unit == "month":
            return _add_months(today, count)
        return today + timedelta(days=count * (7 if unit == "week" else 1))
    if m := _ISO.search(low):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    if m := _MONTH_DAY.search(low):
        month_name, day_text = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        month, day = MONTHS[month_name.lower().rstrip(".")], int(day_text)
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                return None
            if candidate >= today:
                return candidate
        return None
    if m := _WEEKDAY.search(low):
        target = WEEKDAYS[m.group(2).capitalize()]
        ahead = (target - today.weekday()) % 7 or 7
        if (m.group(1) or "").lower() == "next" and ahead < 7 - today.weekday():
            ahead += 7  # "next Friday" said on a Monday is the Friday of next week
        return today + timedelta(days=ahead)
    if re.search(r"\bnext week\b", low):
        return today + timedelta(days=7 - today.weekday())
    if re.search(r"\b(end of (the |this )?week|this week)\b", low):
        return today + timedelta(days=max(0, 4 - today.weekday()))
    if re.search(r"\bnext month\b", low):
        return _add_months(today.replace(day=1), 1)
    if re.search(r"\bend of (the |this )?month\b", low):
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return None


def _time(text: str) -> time | None:
    if m := _TIME.search(text):
        hour, minute = int(m.group(1)) % 12, int(m.group(2) or 0)
        if m.group(3).lower().startswith("p"):
            hour += 12
        return time(hour, minute) if minute < 60 else None
    if m := _NOON.search(text):
        return time(0) if m.group(1).lower() == "midnight" else time(12)
    return None


def resolve(text: str, reference: datetime, offset_minutes: int) -> datetime | None:
    """The moment ``text`` refers to, in UTC; None if it names no date."""
    zone = timezone(timedelta(minutes=offset_minutes))
    local = reference.astimezone(zone)
    day = _day(text, local.date())
    at = _time(text)
    if day is None:
        if at is None:
            return None
        day = local.date() if at > local.time().replace(tzinfo=None) else local.date() + timedelta(days=1)
    if at is None and re.search(r"\b(end of (the )?day|eod)\b", text, re.I):
        at = time(17)  # the end of the working day
    return datetime.combine(day, at or time(0), tzinfo=zone).astimezone(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as Symbl writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
