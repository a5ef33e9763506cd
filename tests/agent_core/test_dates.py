from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent_core.dates import parse_moment, parse_range
from agent_core.errors import ToolError

NOW = datetime(2024, 5, 10, 15, 30, tzinfo=UTC)


def test_end_date_includes_the_whole_day() -> None:
    start, end = parse_range("2024-05-01", "2024-05-03", NOW)
    assert start == datetime(2024, 5, 1, tzinfo=UTC)
    assert end == datetime(2024, 5, 4, tzinfo=UTC)  # half-open: all of May 3rd is inside


@pytest.mark.parametrize("text", ["now", "NOW", " now "])
def test_now_does_not_crash(text: str) -> None:
    start, end = parse_range("today", text, NOW)
    assert start == datetime(2024, 5, 10, tzinfo=UTC)
    assert end > NOW


def test_relative_and_named_days() -> None:
    assert parse_moment("yesterday", NOW, end=False) == datetime(2024, 5, 9, tzinfo=UTC)
    assert parse_moment("3 days ago", NOW, end=False) == datetime(2024, 5, 7, tzinfo=UTC)
    assert parse_moment("today", NOW, end=True) == datetime(2024, 5, 11, tzinfo=UTC)


def test_iso_datetimes_and_loose_dates() -> None:
    assert parse_moment("2024-05-01T14:30:00Z", NOW, end=False) == datetime(
        2024, 5, 1, 14, 30, tzinfo=UTC)
    assert parse_moment("2024/5/2", NOW, end=False) == datetime(2024, 5, 2, tzinfo=UTC)


@pytest.mark.parametrize("text", ["last tuesday-ish", "2024-13-45", ""])
def test_bad_dates_give_an_actionable_error(text: str) -> None:
    with pytest.raises(ToolError, match="YYYY-MM-DD"):
        parse_moment(text, NOW, end=False)


def test_reversed_range_is_an_error_not_an_empty_result() -> None:
    with pytest.raises(ToolError, match="after the end date"):
        parse_range("2024-05-03", "2024-05-01", NOW)
