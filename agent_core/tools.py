"""One tool registry for built-in and user tools; JSON schemas come from signatures.

A tool is an ``async def name(ctx, arg: type, ...) -> str`` with a Google-style
docstring. Its first parameter receives the :class:`~agent_core.toolbox.ToolContext`;
the others become the JSON schema the model sees. Every tool but those registered
with ``heartbeat=False`` also takes MemGPT's ``request_heartbeat`` flag.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_core.errors import MembotError, ToolError

_log = logging.getLogger(__name__)

HEARTBEAT_PARAM = "request_heartbeat"
HEARTBEAT_DOC = (
    "Request an immediate heartbeat after the function runs. Set to true if you want to "
    "chain another function call before replying to the user."
)
MAX_RESULT_CHARS = 3000

ToolFunc = Callable[..., Awaitable[str]]

_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True, slots=True)
class Tool:
    """A registered tool: its function, its JSON schema, and whether it may chain."""

    name: str
    description: str
    parameters: dict[str, Any]
    func: ToolFunc
    heartbeat: bool

    def schema(self) -> dict[str, Any]:
        """The tool in the OpenAI ``tools`` format."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.parameters}}


def _doc_sections(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (summary text, {arg: description})."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section = "summary"
    current: str | None = None
    for raw in inspect.cleandoc(doc).splitlines():
        line = raw.strip()
        if re.fullmatch(r"(Args|Arguments|Parameters):", line):
            section = "args"
            continue
        if re.fullmatch(r"(Returns|Raises|Yields|Examples?|Notes?):", line):
            section = "other"
            continue
        if section == "summary":
            summary.append(line)
        elif section == "args":
            match = re.match(r"(\w+)(?:\s*\([^)]*\))?:\s*(.*)", line)
            if match and not raw.startswith("        "):
                current = match.group(1)
                args[current] = match.group(2)
            elif current and line:
                args[current] += " " + line
    return " ".join(s for s in summary if s).strip(), args


def _json_type(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _json_type(inner[0]) if len(inner) == 1 else {}
    if origin in (list, Sequence, tuple):
        (item,) = typing.get_args(hint)[:1] or (str,)
        return {"type": "array", "items": _json_type(item)}
    if origin is typing.Literal:
        values = list(typing.get_args(hint))
        return {"type": _JSON_TYPES.get(type(values[0]), "string"), "enum": values}
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    raise TypeError(f"unsupported tool parameter type: {hint!r}")


def tool_from_function(func: ToolFunc, *, heartbeat: bool = True) -> Tool:
    """Build a :class:`Tool` from an async function's signature and docstring."""
    summary, arg_docs = _doc_sections(func.__doc__ or "")
    hints = typing.get_type_hints(func)
    params = list(inspect.signature(func).parameters.values())[1:]  # drop ctx
    properties: dict[str, Any] = {}
    required: list[str] = []
    for p in params:
        prop = _json_type(hints[p.name])
        if p.name in arg_docs:
            prop["description"] = arg_docs[p.name]
        properties[p.name] = prop
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
    if heartbeat:
        properties[HEARTBEAT_PARAM] = {"type": "boolean", "description": HEARTBEAT_DOC}
        required.append(HEARTBEAT_PARAM)
    parameters = {"type": "object", "properties": properties, "required": required}
    return Tool(func.__name__, summary, parameters, func, heartbeat)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What running one tool call produced."""

    name: str
    ok: bool
    result: str  # the JSON text the model sees
    heartbeat: bool


def format_result(ok: bool, message: str, now: datetime) -> str:
    """MemGPT's tool result format, long messages cut with a note."""
    if len(message) > MAX_RESULT_CHARS:
        message = (message[:MAX_RESULT_CHARS] +
                   f"... [truncated: {len(message) - MAX_RESULT_CHARS} more characters]")
    return json.dumps({"status": "OK" if ok else "Failed", "message": message,
                       "time": now.isoformat(timespec="seconds")}, ensure_ascii=False)


class ToolRegistry:
    """Named tools, their schemas, and a safe way to call them."""

    def __init__(self, on_call: Callable[[str, bool], None] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        self._schemas: list[dict[str, Any]] | None = None  # built once, sent every call
        self.on_call = on_call  # observer: (tool name, ok) after every call

    def register(self, func: ToolFunc, *, heartbeat: bool = True) -> Tool:
        """Add a tool (replacing one of the same name)."""
        tool = tool_from_function(func, heartbeat=heartbeat)
        self._tools[tool.name] = tool
        self._schemas = None
        return tool

    def names(self) -> list[str]:
        """Registered tool names."""
        return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        """Every tool in the OpenAI ``tools`` format."""
        if self._schemas is None:
            self._schemas = [t.schema() for t in self._tools.values()]
        return self._schemas

    async def call(self, ctx: Any, name: str, raw_arguments: str, now: datetime) -> ToolOutcome:
        """Run one tool call; every problem becomes a failed result the model can act on."""
        outcome = await self._call(ctx, name, raw_arguments, now)
        if self.on_call is not None:
            self.on_call(outcome.name if outcome.name in self._tools else "unknown", outcome.ok)
        return outcome

    async def _call(self, ctx: Any, name: str, raw_arguments: str, now: datetime) -> ToolOutcome:
        tool = self._tools.get(name)
        if tool is None:
            msg = f"No function named '{name}'. Available functions: {', '.join(self._tools)}."
            return ToolOutcome(name, False, format_result(False, msg, now), True)
        try:
            args = parse_arguments(raw_arguments)
            flag = args.pop(HEARTBEAT_PARAM, False)
            heartbeat = tool.heartbeat and _truthy(flag)
            _check_arguments(tool, args)
            message = await tool.func(ctx, **args)
        except MembotError as exc:  # ToolError and failures of storage/embeddings
            return ToolOutcome(name, False, format_result(False, exc.user_message(), now), True)
        except Exception as exc:
            _log.exception("tool %s raised", name)
            msg = f"The function failed with an internal error ({type(exc).__name__})."
            return ToolOutcome(name, False, format_result(False, msg, now), True)
        return ToolOutcome(name, True, format_result(True, message, now), heartbeat)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool arguments from the model's JSON text; raises ToolError with a usable message."""
    text = (raw or "").strip() or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolError(f"Arguments are not valid JSON ({exc.msg} at position {exc.pos}). "
                        "Call the function again with a JSON object of arguments.") from exc
    if isinstance(value, str):  # some models double-encode
        return parse_arguments(value)
    if not isinstance(value, dict):
        raise ToolError("Arguments must be a JSON object. Call the function again.")
    return value


def _check_arguments(tool: Tool, args: dict[str, Any]) -> None:
    props = tool.parameters["properties"]
    missing = [r for r in tool.parameters["required"] if r not in args and r != HEARTBEAT_PARAM]
    if missing:
        raise ToolError(f"Missing required argument(s) for {tool.name}: {', '.join(missing)}.")
    unknown = [a for a in args if a not in props]
    if unknown:
        raise ToolError(f"Unknown argument(s) for {tool.name}: {', '.join(unknown)}. "
                        f"It takes: {', '.join(p for p in props if p != HEARTBEAT_PARAM)}.")
    for key, value in args.items():
        _coerce_check(tool.name, key, props[key], value, args)


def _coerce_check(tool: str, key: str, prop: dict[str, Any], value: Any,
                  args: dict[str, Any]) -> None:
    kind = prop.get("type")
    if kind == "integer" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        args[key] = int(value)
        return
    types_by_kind: dict[str, type | tuple[type, ...]] = {
        "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list}
    expected = types_by_kind.get(kind or "")
    if expected and (not isinstance(value, expected) or
                     (kind == "integer" and isinstance(value, bool))):
        raise ToolError(f"Argument '{key}' of {tool} must be of type {kind}, "
                        f"got {type(value).__name__}.")
