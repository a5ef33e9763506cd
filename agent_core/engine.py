"""The engine facade: the one object adapters and the CLI talk to."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agent_core import prompts
from agent_core.agent import AgentSession, TurnRunner
from agent_core.config import EngineConfig
from agent_core.domain import (
    ConversationKey,
    IncomingMessage,
    LoadReport,
    MemoryBlock,
    MemoryView,
    Passage,
    ProgressCallback,
    Reply,
    ReplyCallback,
    SourceInfo,
    TurnResult,
    UploadedFile,
)
from agent_core.errors import LLMError, MembotError, NotFoundError
from agent_core.metrics import InstrumentedChatModel, Metrics
from agent_core.state import AgentRecord, new_id
from agent_core.toolbox import builtin_tools

if TYPE_CHECKING:
    from agent_core.backends.sqlite_state import SqliteState
    from agent_core.ports import ArchivalStore, ChatModel, Embedder

_log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 30.0


class Engine:
    """Agents, memory and sources behind a handful of coroutines (docs/architecture.md)."""

    def __init__(self, config: EngineConfig, state: SqliteState, archive: ArchivalStore,
                 embedder: Embedder, model: ChatModel, metrics: Metrics | None = None) -> None:
        self.config = config
        self.state = state
        self.archive = archive
        self.embedder = embedder
        self.model = model
        self.metrics = metrics or Metrics()
        tools = builtin_tools()
        tools.on_call = lambda name, ok: self.metrics.tool_calls.inc(
            tool=name, status="ok" if ok else "failed")
        self.runner = TurnRunner(state=state, archive=archive, embedder=embedder,
                                 model=InstrumentedChatModel(model, self.metrics),
                                 tools=tools, max_steps=config.max_steps,
                                 llm_slots=asyncio.Semaphore(config.llm_concurrency))
        self._sessions: dict[str, AgentSession] = {}
        self._loading: dict[str, asyncio.Lock] = {}  # one per conversation being loaded
        self._in_flight = 0
        self._turns: set[asyncio.Task[TurnResult]] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False

    @classmethod
    async def open(cls, config: EngineConfig, *, chat_model: ChatModel | None = None,
                   embedder: Embedder | None = None,
                   archive: ArchivalStore | None = None) -> Engine:
        """Open the stores and build the parts not given (heavy imports happen here)."""
        from agent_core.backends.sqlite_state import SqliteState

        if embedder is None:
            from agent_core.backends.embedders import build_embedder

            embedder = build_embedder(config)
        state = await SqliteState.open(config.state_path)
        try:
            if archive is None:
                from agent_core.backends.milvus_archive import MilvusArchive

                resolve = getattr(embedder, "resolve_dimension", None)
                dimension = await resolve() if resolve is not None else embedder.dimension
                dense = await MilvusArchive.open(
                    config.archive_uri, token=config.milvus_token,
                    collection=config.milvus_collection, dimension=dimension,
                    embedding_model=embedder.name, cache_rows=config.archive_cache_rows)
                from agent_core.hybrid import with_retrieval

                archive = await with_retrieval(dense, config.retrieval,
                                               config.data_dir / "keywords.sqlite3", state)
            if chat_model is None:
                from agent_core.backends.openai_chat import OpenAIChatModel

                chat_model = OpenAIChatModel(
                    config.model, api_key=config.openai_api_key, base_url=config.openai_base_url,
                    azure_api_version=config.azure_api_version, timeout=config.llm_timeout,
                    max_retries=config.llm_max_retries)
        except BaseException:
            await state.aclose()
            raise
        return cls(config, state, archive, embedder, chat_model)

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Refuse new turns, let in-flight ones finish (up to ``grace`` s), close stores."""
        self._closing = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            _log.warning("%d turn(s) still running at shutdown", self._in_flight)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for part in (self.model, self.archive, self.embedder):
            closer = getattr(part, "aclose", None)
            if closer is not None:
                await closer()
        await self.state.aclose()

    # -- turns ----------------------------------------------------------------------------

    async def handle(self, message: IncomingMessage,
                     on_reply: ReplyCallback | None = None) -> TurnResult:
        """Run one user message through its conversation's agent (see docs/architecture.md).

        A turn, once started, is shielded: if the caller is cancelled (a platform
        shutting down), the turn still finishes and is persisted; ``aclose`` waits for it.
        """
        if self._closing:
            raise MembotError("membot is shutting down; try again in a moment.")
        self._in_flight += 1
        self._idle.clear()
        turn = asyncio.create_task(self._guarded(message, on_reply),
                                   name=f"membot-turn-{message.conversation}")
        self._turns.add(turn)
        turn.add_done_callback(self._turn_done)
        return await asyncio.shield(turn)

    def _turn_done(self, turn: asyncio.Task[TurnResult]) -> None:
        self._turns.discard(turn)
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()
        if not turn.cancelled() and turn.exception() is not None:
            _log.debug("turn ended with %r", turn.exception())

    async def _guarded(self, message: IncomingMessage,
                       on_reply: ReplyCallback | None) -> TurnResult:
        start = time.perf_counter()
        outcome = "error"
        try:
            session = await self._session(message.conversation)
            async with session.lock:
                result = await self._turn(session, message, on_reply)
            outcome = "duplicate" if result.duplicate else (
                "llm_error" if any(r.kind == "error" for r in result.replies) else "ok")
            return result
        except Exception as exc:
            self.metrics.errors.inc(kind=type(exc).__name__)
            raise
        finally:
            self.metrics.turns.inc(outcome=outcome)
            self.metrics.turn_seconds.observe(time.perf_counter() - start)

    async def _turn(self, session: AgentSession, message: IncomingMessage,
                    on_reply: ReplyCallback | None) -> TurnResult:
        rec = session.record
        if message.message_id and await self.state.has_platform_message(rec.id,
                                                                        message.message_id):
            return TurnResult((), 0, duplicate=True)
        await self.runner.persist_user_message(session, message)
        try:
            return await self.runner.run(session, on_reply)
        except LLMError as exc:
            _log.warning("agent %s: model call failed: %s", rec.id, exc.message)
            reply = Reply(f"I couldn't get an answer from my language model: "
                          f"{exc.user_message()} Your message is saved; please try again.",
                          "error")
            if on_reply is not None:
                await on_reply(reply)
            return TurnResult((reply,), 0)
        except BaseException:
            self._sessions.pop(rec.conversation, None)  # reload from disk next time
            raise

    async def _session(self, conversation: ConversationKey) -> AgentSession:
        key = str(conversation)
        session = self._sessions.get(key)
        if session is None:
            lock = self._loading.setdefault(key, asyncio.Lock())
            async with lock:
                session = self._sessions.get(key)
                if session is None:
                    session = await self._load(conversation)
                    self._sweep()
                    self._sessions[key] = session
            if not lock.locked():
                self._loading.pop(key, None)
        session.last_used = time.monotonic()
        return session

    async def _load(self, conversation: ConversationKey) -> AgentSession:
        rec = await self.state.active_agent(str(conversation))
        if rec is None:
            rec = self._new_agent(conversation)
            await self.state.create_agent(rec)
        sources = await self.state.attached_sources(rec.id)
        self._warm([rec.id, *(s.id for s in sources)])
        return AgentSession(
            record=rec, workspace=conversation.workspace,
            window=await self.state.get_messages(rec.in_context),
            source_ids=[s.id for s in sources], source_names=[s.name for s in sources],
            recall_count=await self.state.count_messages(rec.id),
            archival_count=await self.archive.count([rec.id]))

    def _new_agent(self, conversation: ConversationKey) -> AgentRecord:
        cfg = self.config
        persona = prompts.persona_text(cfg.persona_for(conversation.workspace))
        blocks = [MemoryBlock("persona", persona, cfg.core_block_limit),
                  MemoryBlock("human", cfg.human or prompts.DEFAULT_HUMAN, cfg.core_block_limit)]
        return AgentRecord(id=new_id("a"), conversation=str(conversation), name="membot",
                           system_prompt=prompts.SYSTEM_PROMPT.format(name="membot"),
                           blocks=blocks, model=self.model.model,
                           context_window=cfg.context_window, embedding_model=self.embedder.name)

    def _warm(self, owners: list[str]) -> None:
        """Let the archive load these owners' vectors in the background, if it can."""
        warm = getattr(self.archive, "warm", None)
        if warm is None or self._closing:
            return
        task = asyncio.create_task(warm(owners), name=f"membot-warm-{owners[0]}")
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.warning("%s failed: %s", task.get_name(), task.exception())

    def _sweep(self) -> None:
        """Drop agents idle longer than ``idle_seconds`` from memory (not from disk)."""
        cutoff = time.monotonic() - self.config.idle_seconds
        for key, s in list(self._sessions.items()):
            if s.last_used < cutoff and not s.lock.locked():
                del self._sessions[key]

    @property
    def loaded_agents(self) -> int:
        """How many agents are held in memory now."""
        return len(self._sessions)

    async def forget_cached(self, conversation: str) -> None:
        """Drop a conversation's agent from memory so it is read again from disk."""
        session = self._sessions.get(conversation)
        if session is None:
            return
        async with session.lock:
            self._sessions.pop(conversation, None)

    async def agents_overview(self) -> list[dict[str, Any]]:
        """Every active agent with its sizes, for ``membot agents``."""
        rows = []
        for rec in await self.state.list_agents():
            sources = await self.state.attached_sources(rec.id)
            rows.append({"conversation": rec.conversation, "agent_id": rec.id,
                         "name": rec.name,
                         "messages": await self.state.count_messages(rec.id),
                         "archival": await self.archive.count([rec.id]),
                         "sources": [s.name for s in sources],
                         "last_active": rec.last_active.isoformat(timespec="seconds")})
        return rows

    async def export(self, conversation: ConversationKey | str) -> dict[str, Any]:
        """The conversation's agent as one portable JSON document."""
        from agent_core.portability import export_agent

        return await export_agent(self, str(conversation))

    async def import_(self, document: dict[str, Any], conversation: ConversationKey | None = None,
                      replace: bool = False) -> str:
        """Restore an exported agent (under its own or another conversation); returns its key."""
        from agent_core.portability import import_agent

        return (await import_agent(self, document, conversation, replace)).conversation

    # -- memory ---------------------------------------------------------------------------

    async def memory(self, conversation: ConversationKey) -> MemoryView:
        """Core memory and the size of each tier for ``/memory``."""
        s = await self._session(conversation)
        rec = s.record
        return MemoryView(rec.id, rec.name, tuple(rec.blocks), s.recall_count, len(s.window),
                          s.archival_count, tuple(s.source_names), rec.summary, rec.created_at,
                          rec.last_active)

    async def reset(self, conversation: ConversationKey) -> None:
        """Start a fresh agent for the conversation; the old one's data stays on disk."""
        s = await self._session(conversation)
        async with s.lock:
            await self.state.deactivate_agent(s.record.id)
            self._sessions.pop(str(conversation), None)

    async def forget(self, conversation: ConversationKey) -> None:
        """Delete every message, memory and attachment the conversation's agents hold."""
        s = await self._session(conversation)
        async with s.lock:
            for rec in await self.state.conversation_agents(str(conversation)):
                await self.archive.delete(rec.id)
                await self.state.delete_agent(rec.id)
            self._sessions.pop(str(conversation), None)

    async def claim_event(self, namespace: str, event_id: str) -> bool:
        """Persistent dedup: True the first time an event id is claimed."""
        return await self.state.claim_event(namespace, event_id)

    # -- sources --------------------------------------------------------------------------

    async def load_source(self, workspace: str, name: str, files: Sequence[UploadedFile],
                          progress: ProgressCallback | None = None) -> LoadReport:
        """Parse, chunk, embed and store files into a workspace's source."""
        from agent_core.ingest.pipeline import IngestPipeline

        pipeline = IngestPipeline(self.state, self.archive, self.embedder, self.config)
        report = await pipeline.load(workspace, name, files, progress)
        self.metrics.ingested.inc(report.files_loaded, kind="files")
        self.metrics.ingested.inc(report.pages, kind="pages")
        self.metrics.ingested.inc(report.passages, kind="passages")
        self.metrics.ingested.inc(len(report.skipped), kind="skipped_files")
        return report

    async def sources(self, workspace: str) -> list[SourceInfo]:
        """A workspace's sources."""
        return await self.state.list_sources(workspace)

    async def attached(self, conversation: ConversationKey) -> list[SourceInfo]:
        """Sources attached to the conversation's agent."""
        s = await self._session(conversation)
        return await self.state.attached_sources(s.record.id)

    async def _source(self, workspace: str, name: str) -> SourceInfo:
        source = await self.state.get_source(workspace, name.strip())
        if source is None:
            raise NotFoundError(f"There is no source named '{name}' here.",
                                hint="List the sources with /sources.")
        return source

    async def attach(self, conversation: ConversationKey, name: str) -> SourceInfo:
        """Let the conversation's agent search a source (nothing is copied)."""
        source = await self._source(conversation.workspace, name)
        s = await self._session(conversation)
        await self.state.attach(s.record.id, source.id)
        await self._refresh_sources(s)
        return source

    async def detach(self, conversation: ConversationKey, name: str) -> SourceInfo:
        """Stop the conversation's agent from searching a source."""
        source = await self._source(conversation.workspace, name)
        s = await self._session(conversation)
        if not await self.state.detach(s.record.id, source.id):
            raise NotFoundError(f"The source '{source.name}' is not attached.")
        await self._refresh_sources(s)
        return source

    async def _refresh_sources(self, s: AgentSession) -> None:
        sources = await self.state.attached_sources(s.record.id)
        added = [x.id for x in sources if x.id not in s.source_ids]
        if added:
            self._warm(added)
        s.source_ids = [x.id for x in sources]
        s.source_names = [x.name for x in sources]

    async def delete_source(self, workspace: str, name: str) -> SourceInfo:
        """Delete a source and its passages; agents that had it attached lose it."""
        source = await self._source(workspace, name)
        await self.archive.delete(source.id)
        await self.state.delete_source(source.id)
        for s in self._sessions.values():
            if source.id in s.source_ids:
                await self._refresh_sources(s)
        return source

    async def search_sources(self, workspace: str, names: Sequence[str], query: str,
                             k: int = 5) -> list[Passage]:
        """What an agent with these sources attached would retrieve for ``query``."""
        ids = [(await self._source(workspace, n)).id for n in names]
        vector = (await self.embedder.embed([query]))[0]
        return await self.archive.search(query, vector, ids, k)

    def describe(self) -> dict[str, Any]:
        """Non-secret facts about the running engine (for logs and health checks)."""
        return {"model": self.model.model, "embedding_model": self.embedder.name,
                "embedding_dimension": self.embedder.dimension,
                "loaded_agents": len(self._sessions), "in_flight_turns": self._in_flight}
