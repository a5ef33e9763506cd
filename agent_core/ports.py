"""The engine's ports: small protocols that backends implement.

``agent_core.backends`` holds the real implementations (OpenAI-compatible chat,
sentence-transformers/OpenAI embeddings, Milvus, SQLite); tests may pass others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from agent_core.domain import ChatMessage, Completion, Passage, PassageRecord


@runtime_checkable
class ChatModel(Protocol):
    """An LLM that answers a list of messages, optionally calling tools."""

    model: str

    async def complete(
        self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]]
    ) -> Completion:
        """One completion. Raises ``LLMError`` (``ContextWindowExceededError`` on overflow)."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of a fixed dimension."""

    name: str
    dimension: int

    async def embed(self, texts: Sequence[str]) -> Any:
        """Vectors for ``texts``: a 2-d float32 numpy array of shape (len(texts), dimension)."""
        ...


@runtime_checkable
class ArchivalStore(Protocol):
    """Passages with vectors, searched by owner (agent id or source id)."""

    async def insert(self, records: Sequence[PassageRecord]) -> list[int]:
        """Store passages; returns their ids in order."""
        ...

    async def search(
        self,
        query: str,
        vector: Any,
        owners: Sequence[str],
        limit: int,
        offset: int = 0,
    ) -> list[Passage]:
        """The ``limit`` best passages after ``offset``, of these owners only."""
        ...

    async def count(self, owners: Sequence[str]) -> int:
        """How many passages these owners hold together."""
        ...

    async def delete(self, owner: str, ids: Sequence[int] | None = None,
                     doc: str | None = None) -> int:
        """Delete an owner's passages (all, only ``ids``, or only file ``doc``'s); how many."""
        ...
