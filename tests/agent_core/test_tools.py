from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from agent_core.toolbox import builtin_tools
from agent_core.tools import ToolRegistry, tool_from_function

NOW = datetime(2024, 5, 10, tzinfo=UTC)


async def lookup(ctx: object, city: str, days: int = 1,
                 unit: Literal["c", "f"] = "c") -> str:
    """Look up the weather.

    Args:
        city: Name of the city.
        days: How many days ahead.
    """
    return f"{city}:{days}:{unit}"


def test_schema_comes_from_hints_and_docstring() -> None:
    tool = tool_from_function(lookup)
    params = tool.parameters
    assert tool.description == "Look up the weather."
    assert params["properties"]["city"] == {"type": "string", "description": "Name of the city."}
    assert params["properties"]["days"]["type"] == "integer"
    assert params["properties"]["unit"]["enum"] == ["c", "f"]
    assert params["required"] == ["city", "request_heartbeat"]


def test_builtin_tools_match_memgpt() -> None:
    names = builtin_tools().names()
    assert names == ["send_message", "core_memory_append", "core_memory_replace",
                     "conversation_search", "conversation_search_date",
                     "archival_memory_insert", "archival_memory_search"]
    send = builtin_tools().schemas()[0]["function"]["parameters"]
    assert "request_heartbeat" not in send["properties"]


async def _call(raw: str, name: str = "lookup") -> dict[str, object]:
    registry = ToolRegistry()
    registry.register(lookup)
    outcome = await registry.call(None, name, raw, NOW)
    result = json.loads(outcome.result)
    result["heartbeat"] = outcome.heartbeat
    return result


async def test_a_good_call_returns_memgpt_result_format() -> None:
    result = await _call('{"city": "Oslo", "days": "2", "request_heartbeat": "true"}')
    assert result["status"] == "OK"
    assert result["message"] == "Oslo:2:c"
    assert result["time"] == "2024-05-10T00:00:00+00:00"
    assert result["heartbeat"] is True


async def test_invalid_json_is_a_failed_result_that_returns_control() -> None:
    result = await _call('{"city": "Oslo"')
    assert result["status"] == "Failed"
    assert "not valid JSON" in str(result["message"])
    assert result["heartbeat"] is True


async def test_missing_unknown_and_mistyped_arguments() -> None:
    assert "Missing required argument" in str((await _call("{}"))["message"])
    assert "Unknown argument" in str((await _call('{"city": "x", "zip": 1}'))["message"])
    assert "must be of type integer" in str((await _call('{"city": "x", "days": "two"}'))
                                            ["message"])


async def test_unknown_tool_lists_the_available_ones() -> None:
    result = await _call("{}", name="fly")
    assert result["status"] == "Failed"
    assert "No function named 'fly'" in str(result["message"])
    assert "lookup" in str(result["message"])


async def test_long_results_are_cut_with_a_note() -> None:
    async def big(ctx: object) -> str:
        """Big output."""
        return "x" * 5000

    registry = ToolRegistry()
    registry.register(big)
    outcome = await registry.call(None, "big", "{}", NOW)
    message = json.loads(outcome.result)["message"]
    assert message.startswith("x" * 3000)
    assert "truncated: 2000 more characters" in message
