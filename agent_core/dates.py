"""Tolerant parsing of the dates a model writes (ISO dates, datetimes, 'today', 'now'...)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from agent_core.errors import ToolError

_RELATIVE = re.compile(r"(\d+)\s+(minute|hour|day|week)s?\s+ago")


def parse_moment(text: str, now: datetime, *, end: bool) -> datetime:
    """A point in time from a model's date text, in UTC.

    A bare date means the start of that day, or — when ``end`` — the start of the
    next day, so that an end date includes the whole day. Raises ``ToolError`` with
    the accepted forms when the text is not understood.
    """
    value = text.strip().lower().strip("'\"")
    if value in ("now", "right now"):
        return now + timedelta(milliseconds=1) if end else now
    named = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if value in named:
        return _day_bound(now.date() + timedelta(days=named[value]), end)
    match = _RELATIVE.fullmatch(value)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        moment = now - timedelta(**{f"{unit}s": count})
        return _day_bound(moment.date(), end) if unit in ("day", "week") else moment
    return _parse_iso(text.strip(), end)


def _parse_iso(text: str, end: bool) -> datetime:
    cleaned = text.replace("Z", "+00:00").replace("/", "-")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", cleaned):
            return _day_bound(date.fromisoformat(_pad(cleaned)), end)
        moment = datetime.fromisoformat(cleaned)
    except ValueError as exc:
        raise ToolError(
            f"Could not understand the date '{text}'. Use YYYY-MM-DD (e.g. 2024-05-01), an "
            "ISO datetime (2024-05-01T14:30), 'today', 'yesterday', 'now' or 'N days ago'."
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment + timedelta(milliseconds=1) if end else moment


def _pad(text: str) -> str:
    y, m, d = text.split("-")
    return f"{y}-{int(m):02d}-{int(d):02d}"


def _day_bound(day: date, end: bool) -> datetime:
    if end:
        day = day + timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=UTC)


def parse_range(start: str, end: str, now: datetime) -> tuple[datetime, datetime]:
    """A half-open ``[start, end)`` range; the end day is included whole."""
    lo, hi = parse_moment(start, now, end=False), parse_moment(end, now, end=True)
    if hi <= lo:
        raise ToolError(f"The start date '{start}' is after the end date '{end}'. "
                        "Swap them or widen the range.")
    return lo, hi
