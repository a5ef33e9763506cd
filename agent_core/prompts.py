"""The system prompt, shipped personas and the texts the engine shows the model."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

from agent_core.domain import MemoryBlock, Speaker

SYSTEM_PROMPT = """\
You are {name}, a helpful assistant with a persistent memory, talking with people in a \
team chat. You manage your own memory, like an operating system pages between RAM and disk.

Control flow: you run when a user sends a message and when a function you called asked \
for a heartbeat (request_heartbeat=true). Chain functions with heartbeats when you need \
several steps (for example, search memory, then answer). Never claim to remember \
something you have not checked.

Talking: the user sees only what you pass to send_message. Anything else you write is \
your private inner monologue: keep it short. Always answer with send_message.

Memory tiers:
- Core memory (below, always visible): the 'persona' block is who you are; the 'human' \
block is what you know about the people you talk with. Keep it current with \
core_memory_append and core_memory_replace when you learn something that matters \
(names, preferences, ongoing projects). Blocks have character limits.
- Recall memory: every message ever exchanged, searchable with conversation_search (by \
words) and conversation_search_date (by date), even those no longer in view.
- Archival memory: a long-term store searched by meaning with archival_memory_search; \
save facts and notes there with archival_memory_insert. It also holds the documents \
attached to you (their passages carry a file name and page: cite them).
Search results are paged (page 0 first); ask for the next page when the answer is not \
in the first.
"""

_DEFAULT_PERSONA = "assistant"
DEFAULT_HUMAN = "Nothing is known about the user yet."


def shipped_personas() -> list[str]:
    """Names of the personas shipped with membot."""
    folder = resources.files("agent_core") / "personas"
    return sorted(p.name.removesuffix(".txt") for p in folder.iterdir()
                  if p.name.endswith(".txt"))


def persona_text(name_or_text: str | None) -> str:
    """A shipped persona by name, or the given text itself (custom persona)."""
    key = name_or_text or _DEFAULT_PERSONA
    if key in shipped_personas():
        return (resources.files("agent_core") / "personas" / f"{key}.txt").read_text("utf-8")
    return key


def render_core_memory(blocks: list[MemoryBlock]) -> str:
    """Core memory blocks as the model sees them, with their fill levels."""
    return "\n".join(
        f'<{b.label} characters="{len(b.value)}/{b.limit}">\n{b.value}\n</{b.label}>'
        for b in blocks)


def render_system(system_prompt: str, blocks: list[MemoryBlock], stats: str) -> str:
    """The whole system message: instructions, memory statistics and core memory."""
    return (f"{system_prompt}\n### Memory\n{stats}\n\n### Core memory\n"
            f"{render_core_memory(blocks)}")


def memory_stats(recall: int, archival: int, sources: list[str], now: datetime) -> str:
    """The memory statistics line of the system message."""
    attached = f" Attached documents: {', '.join(sources)}." if sources else ""
    return (f"Current time: {now.isoformat(timespec='minutes')}. {recall} messages are in "
            f"recall memory (use conversation_search to see older ones). {archival} passages "
            f"you saved are in archival memory.{attached}")


def pack_user_message(text: str, speaker: Speaker | None, now: datetime) -> str:
    """A user message as the model sees it (MemGPT's JSON envelope)."""
    packed: dict[str, str] = {"type": "user_message", "message": text,
                              "time": now.isoformat(timespec="seconds")}
    if speaker is not None:
        packed.update(name=speaker.name, user_id=speaker.id)
    return json.dumps(packed, ensure_ascii=False)


def system_alert(message: str, now: datetime) -> str:
    """A system alert delivered in the user role (what MemGPT does)."""
    return json.dumps({"type": "system_alert", "message": message,
                       "time": now.isoformat(timespec="seconds")}, ensure_ascii=False)


MEMORY_PRESSURE = (
    "Warning: the conversation history will soon reach its maximum length and older "
    "messages will be removed from view (they stay searchable in recall memory). Save "
    "anything important from the conversation to core memory or archival memory now.")

STEP_LIMIT = (
    "You reached the limit of {steps} function calls in a row and were stopped. Answer the "
    "user with send_message next time instead of calling more functions.")

EMPTY_ANSWER = "Your last answer was empty. Reply to the user with send_message."

SUMMARY_PROMPT = (
    "Your job is to summarize a history of previous messages in a conversation between an "
    "AI persona and people. The conversation you are given is from a fixed context window "
    "and may not be complete. Keep the summary under {words} words. Keep names, facts, "
    "decisions, open questions and commitments. Only output the summary.")


def summary_note(summary: str, hidden: int) -> str:
    """The message placed at the start of the window for evicted history."""
    return (f"Note: {hidden} prior messages have been hidden from view due to conversation "
            "memory constraints (they are searchable in recall memory). Summary of the "
            f"previous messages:\n{summary}")
