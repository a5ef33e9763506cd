"""An agent's persistent state as the engine works with it (storage-neutral)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from agent_core.domain import MemoryBlock, Role, ToolCall


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only clock the engine reads)."""
    return datetime.now(UTC)


def new_id(prefix: Literal["a", "s"]) -> str:
    """A fresh agent (``a_``) or source (``s_``) id, safe as a Milvus partition name."""
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass(slots=True)
class AgentRecord:
    """One agent: identity, core memory, and which messages are in its context window."""

    id: str
    conversation: str
    name: str
    system_prompt: str
    blocks: list[MemoryBlock]
    model: str
    context_window: int
    embedding_model: str
    in_context: list[int] = field(default_factory=list)
    summary: str = ""
    created_at: datetime = field(default_factory=utcnow)
    last_active: datetime = field(default_factory=utcnow)

    def block(self, label: str) -> MemoryBlock | None:
        """The core memory block with this label, if any."""
        return next((b for b in self.blocks if b.label == label), None)

    def set_block(self, label: str, value: str) -> None:
        """Replace a block's value (the caller checked the limit)."""
        self.blocks = [
            MemoryBlock(b.label, value, b.limit) if b.label == label else b for b in self.blocks
        ]


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message about to be persisted (its id and time come from the store)."""

    role: Role
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    search_text: str | None = None  # what recall search indexes; None: not searchable
    platform_id: str | None = None
