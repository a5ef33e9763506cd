"""Shared fixtures: real SQLite and real Milvus Lite under tmp paths, the real local model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from agent_core.config import EngineConfig
from agent_core.engine import Engine
from agent_core.ports import ChatModel, Embedder
from agent_core.testing import ScriptedChatModel, echo_responder


@pytest.fixture
def engine_config(tmp_path: Path) -> EngineConfig:
    """An engine configuration on a fresh data directory."""
    return EngineConfig(data_dir=tmp_path / "data", model="test-model", context_window=8192)


@pytest.fixture(scope="session")
def local_embedder() -> Embedder:
    """The real local embedding model (all-MiniLM-L6-v2), loaded once per test session."""
    from agent_core.backends.embedders import LocalEmbedder

    return LocalEmbedder()


MakeEngine = Callable[..., Awaitable[Engine]]


@pytest.fixture
async def make_engine(engine_config: EngineConfig,
                      local_embedder: Embedder) -> AsyncIterator[MakeEngine]:
    """Factory: ``await make_engine(chat_model=..., **config_overrides)``; closed at teardown."""
    opened: list[Engine] = []

    async def factory(chat_model: ChatModel | None = None, config: EngineConfig | None = None,
                      **overrides: Any) -> Engine:
        from dataclasses import replace

        cfg = replace(config or engine_config, **overrides)
        engine = await Engine.open(cfg, chat_model=chat_model or ScriptedChatModel(echo_responder),
                                   embedder=local_embedder)
        opened.append(engine)
        return engine

    yield factory
    for engine in opened:
        if not engine._closing:
            await engine.aclose(grace=1.0)
