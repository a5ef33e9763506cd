"""The chat commands once, platform-neutral: parse, run against the engine, render text."""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent_core.domain import ConversationKey, MemoryView, SourceInfo, UploadedFile
from agent_core.engine import Engine
from agent_core.errors import MembotError

_log = logging.getLogger(__name__)

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("memory", "", "show my core memory and how much I remember"),
    ("sources", "", "list this workspace's documents and which are attached"),
    ("attach", "NAME", "let me search a source"),
    ("detach", "NAME", "stop me searching a source"),
    ("load", "PATH [--name NAME]", "ingest files into a source (console)"),
    ("reset", "", "start over with a fresh agent (old messages stay stored)"),
    ("forget", "", "delete everything I hold about this conversation"),
    ("help", "", "this help"),
)


def help_text(prefix: str = "/", only: Sequence[str] | None = None) -> str:
    """The command list in Markdown; ``only`` limits it to the commands a platform has."""
    lines = ["**membot commands**"]
    for name, args, text in COMMANDS:
        if only is None or name in only:
            usage = f"{prefix}{name}{' ' + args if args else ''}"
            lines.append(f"`{usage}`: {text}")
    lines.append("Anything else you write goes to your agent, which remembers it.")
    return "\n".join(lines)


def render_memory(view: MemoryView) -> str:
    """Core memory and tier sizes, as Markdown."""
    lines = [f"**Core memory** of {view.name}"]
    for b in view.blocks:
        lines.append(f"*{b.label}* ({len(b.value)}/{b.limit} chars)")
        lines.append("> " + (b.value.replace("\n", "\n> ") if b.value else "(empty)"))
    lines.append(f"**Recall:** {view.messages} messages ({view.in_context} in context)")
    lines.append(f"**Archival:** {view.archival} passages saved")
    lines.append("**Attached sources:** " + (", ".join(view.sources) or "none"))
    if view.summary:
        lines.append(f"**Summary of older conversation:** {view.summary}")
    return "\n".join(lines)


def render_sources(sources: Sequence[SourceInfo], attached: set[str]) -> str:
    """A workspace's sources as a Markdown list, attached ones marked."""
    if not sources:
        return "No sources yet. Upload a PDF or text file to create one."
    lines = ["**Sources**"]
    for s in sources:
        mark = " (attached)" if s.name in attached else ""
        lines.append(f"- **{s.name}**{mark}: {s.files} file{'s' if s.files != 1 else ''}, "
                     f"{s.passages} passages, {s.embedding_model}, "
                     f"created {s.created_at:%Y-%m-%d}")
    return "\n".join(lines)


def error_text(exc: BaseException) -> str:
    """A short, friendly text for any error (details go to the log, not the user)."""
    if isinstance(exc, MembotError):
        return exc.user_message()
    _log.error("unexpected error", exc_info=exc)
    return "Something went wrong on my side; the error was logged. Please try again."


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What a command produced; ``exit`` asks the console to stop."""

    text: str
    ok: bool = True
    exit: bool = False


async def run_command(engine: Engine, conversation: ConversationKey,
                      line: str) -> CommandOutcome | None:
    """Run a ``/command`` line; None if the line is not a command."""
    if not line.startswith("/"):
        return None
    try:
        words = shlex.split(line[1:])
    except ValueError as exc:
        return CommandOutcome(f"Could not read that command: {exc}.", ok=False)
    if not words:
        return CommandOutcome(help_text(), ok=False)
    name, args = words[0].lower(), words[1:]
    try:
        return await _dispatch(engine, conversation, name, args)
    except MembotError as exc:
        return CommandOutcome(error_text(exc), ok=False)


async def _dispatch(engine: Engine, conv: ConversationKey, name: str,
                    args: list[str]) -> CommandOutcome:
    if name in ("exit", "quit"):
        return CommandOutcome("Bye.", exit=True)
    if name == "help":
        return CommandOutcome(help_text())
    if name == "memory":
        return CommandOutcome(render_memory(await engine.memory(conv)))
    if name == "sources":
        attached = {s.name for s in await engine.attached(conv)}
        return CommandOutcome(render_sources(await engine.sources(conv.workspace), attached))
    if name in ("attach", "detach"):
        if len(args) != 1:
            return CommandOutcome(f"Usage: /{name} NAME", ok=False)
        verb = engine.attach if name == "attach" else engine.detach
        source = await verb(conv, args[0])
        done = "attached: I will search it" if name == "attach" else "detached"
        return CommandOutcome(f"Source '{source.name}' {done}.")
    if name == "reset":
        await engine.reset(conv)
        return CommandOutcome("Started a fresh agent. The old conversation stays stored.")
    if name == "forget":
        await engine.forget(conv)
        return CommandOutcome("Deleted every message and memory of this conversation.")
    if name == "load":
        return await _load(engine, conv, args)
    return CommandOutcome(f"Unknown command /{name}.\n{help_text()}", ok=False)


async def _load(engine: Engine, conv: ConversationKey, args: list[str]) -> CommandOutcome:
    name = None
    if "--name" in args:
        i = args.index("--name")
        if i + 1 >= len(args):
            return CommandOutcome("Usage: /load PATH [--name NAME]", ok=False)
        name = args[i + 1]
        args = args[:i] + args[i + 2:]
    if not args:
        return CommandOutcome("Usage: /load PATH [--name NAME]", ok=False)
    files = await asyncio.to_thread(_read_paths, args)
    if not files:
        return CommandOutcome(f"No files found at {' '.join(args)}.", ok=False)
    source = name or Path(args[0]).stem
    report = await engine.load_source(conv.workspace, source, files)
    return CommandOutcome(report.summary())


def _read_paths(args: Sequence[str]) -> list[UploadedFile]:
    found: list[UploadedFile] = []
    for path in (Path(a).expanduser() for a in args):
        if path.is_dir():
            found += [UploadedFile(p.name, p.read_bytes()) for p in sorted(path.rglob("*"))
                      if p.is_file() and not p.name.startswith(".")]
        elif path.is_file():
            found.append(UploadedFile(path.name, path.read_bytes()))
    return found
