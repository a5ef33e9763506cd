"""Plain, frozen value objects shared by the engine, its backends and the adapters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
ReplyKind = Literal["message", "notice", "error"]


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Which agent a message belongs to: (platform, workspace, scope id).

    ``scope`` is chosen by the adapter's scope policy: a user id, a channel id or a
    thread id. The engine only compares keys.
    """

    platform: str
    workspace: str
    scope: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.scope}"

    @classmethod
    def parse(cls, text: str) -> ConversationKey:
        """Inverse of ``str(key)``; raises ``ValueError`` on anything else."""
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"not a conversation key: {text!r} (want platform:workspace:scope)")
        return cls(parts[0], parts[1], parts[2])


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who wrote a message (shared channel/thread agents need to know)."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A user's message to an agent.

    ``message_id`` is the platform's id for the message; when given, a message
    already handled is never answered twice (even across restarts).
    """

    conversation: ConversationKey
    text: str
    speaker: Speaker | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """Something the user should see: what the agent sent, or a notice/error from membot."""

    text: str
    kind: ReplyKind = "message"


ReplyCallback = Callable[[Reply], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TurnResult:
    """Outcome of one ``Engine.handle`` call."""

    replies: tuple[Reply, ...]
    steps: int = 0
    duplicate: bool = False

    @property
    def text(self) -> str:
        """All replies joined, for callers that post one message."""
        return "\n\n".join(r.text for r in self.replies)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call as the model produced it; ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of the context window, in the OpenAI chat format's terms."""

    role: Role
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True, slots=True)
class Completion:
    """What a chat model returned for one request."""

    message: ChatMessage
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as persisted in recall storage."""

    id: int
    agent_id: str
    role: Role
    content: str | None
    created_at: datetime
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def to_chat(self) -> ChatMessage:
        """The message as the model sees it."""
        return ChatMessage(self.role, self.content, self.tool_calls, self.tool_call_id, self.name)


@dataclass(frozen=True, slots=True)
class PassageRecord:
    """A passage to insert into the archive (vector already computed)."""

    text: str
    vector: Any  # Sequence[float] or a 1-d numpy array of the embedder's dimension
    owner: str
    workspace: str
    created_at: datetime
    source_name: str = ""
    doc: str = ""
    page: int = 0
    chunk: int = 0


@dataclass(frozen=True, slots=True)
class Passage:
    """A passage read back from the archive; ``score`` is set on search results."""

    id: int
    text: str
    owner: str
    workspace: str
    created_at: datetime
    source_name: str = ""
    doc: str = ""
    page: int = 0
    chunk: int = 0
    score: float | None = None


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A named collection of document passages, shared within a workspace."""

    id: str
    workspace: str
    name: str
    files: int
    passages: int
    embedding_model: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file to ingest, as bytes (uploads) with its file name."""

    name: str
    data: bytes
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """Progress of a source load, reported as it goes."""

    stage: Literal["parsing", "embedding", "storing", "done"]
    file: str
    files_done: int
    files_total: int
    pages: int
    passages: int


ProgressCallback = Callable[[LoadProgress], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file a load did not ingest, and why (``reason`` is a short code)."""

    name: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class LoadReport:
    """Outcome of ``Engine.load_source``."""

    source: str
    files_loaded: int
    files_unchanged: int
    pages: int
    passages: int
    seconds: float
    skipped: tuple[SkippedFile, ...] = ()

    def summary(self) -> str:
        """One line such as "Loaded 74 passages from 1 file (13 pages) into 'paper' in 3.1 s"."""
        files = f"{self.files_loaded} file{'s' if self.files_loaded != 1 else ''}"
        line = (
            f"Loaded {self.passages} passage{'s' if self.passages != 1 else ''} from {files} "
            f"({self.pages} page{'s' if self.pages != 1 else ''}) into '{self.source}' "
            f"in {self.seconds:.1f} s"
        )
        if self.files_unchanged:
            line += f"; {self.files_unchanged} already loaded"
        if self.skipped:
            reasons = "; ".join(f"{s.name}: {s.message}" for s in self.skipped)
            line += f"; skipped {len(self.skipped)} ({reasons})"
        return line


@dataclass(frozen=True, slots=True)
class MemoryBlock:
    """A labelled block of core memory with its character limit."""

    label: str
    value: str
    limit: int


@dataclass(frozen=True, slots=True)
class MemoryView:
    """What ``/memory`` shows: core memory and the size of every tier."""

    agent_id: str
    name: str
    blocks: tuple[MemoryBlock, ...]
    messages: int
    in_context: int
    archival: int
    sources: tuple[str, ...] = ()
    summary: str = ""
    created_at: datetime | None = None
    last_active: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
