"""`membot chat`: talk to an agent from a terminal or a pipe."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from adapters.commands import error_text, run_command
from agent_core.domain import ConversationKey, IncomingMessage, Reply
from agent_core.engine import Engine

WORKSPACE = "local"
_PROMPT = "you> "


async def _read_line(stream: TextIO) -> str | None:
    line = await asyncio.to_thread(stream.readline)
    return None if line == "" else line.rstrip("\n")


def _printer(out: TextIO) -> object:
    async def show(reply: Reply) -> None:
        prefix = {"message": "agent> ", "notice": "note> ", "error": "error> "}[reply.kind]
        out.write(prefix + reply.text.replace("\n", "\n       ") + "\n")
        out.flush()
    return show


async def run_console(engine: Engine, *, agent: str = "default", stdin: TextIO | None = None,
                      stdout: TextIO | None = None) -> int:
    """Read lines until EOF or ``/exit``; print the agent's replies as they arrive."""
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    interactive = stdin.isatty() and out.isatty()
    conversation = ConversationKey("console", WORKSPACE, agent)
    show = _printer(out)
    if interactive:
        out.write(f"membot: chatting with agent '{agent}'. /help lists commands, /exit quits.\n")
    while True:
        if interactive:
            out.write(_PROMPT)
            out.flush()
        line = await _read_line(stdin)
        if line is None:
            return 0
        if not line.strip():
            continue
        if line.startswith("/"):
            outcome = await run_command(engine, conversation, line.strip())
            if outcome is not None:
                out.write(outcome.text + "\n")
                out.flush()
                if outcome.exit:
                    return 0
                continue
        try:
            await engine.handle(IncomingMessage(conversation, line), on_reply=show)  # type: ignore[arg-type]
        except Exception as exc:
            out.write("error> " + error_text(exc) + "\n")
            out.flush()
