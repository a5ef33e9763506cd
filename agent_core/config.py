"""The engine's configuration: plain values, built and validated by ``bot.settings``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent_core.errors import ConfigError

EmbeddingProvider = Literal["local", "openai"]

DEFAULT_LOCAL_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_MAX_FILE_BYTES = 25 * 1024 * 1024


def check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise ``ConfigError`` naming ``key`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {value!r}", key=key)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything the engine needs to know; no environment is read below ``bot/``."""

    data_dir: Path
    model: str = "gpt-4o-mini"
    context_window: int = 8192
    max_steps: int = 10
    llm_concurrency: int = 8
    llm_timeout: float = 120.0
    llm_max_retries: int = 4
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    azure_api_version: str | None = None
    milvus_uri: str | None = None  # None: Milvus Lite file under data_dir
    milvus_token: str | None = field(default=None, repr=False)
    milvus_collection: str = "passages"
    archive_cache_rows: int = 250_000  # vectors kept in memory for exact search (Lite)
    retrieval: Literal["hybrid", "dense"] = "hybrid"  # hybrid: dense + keywords (RRF)
    embedding_provider: EmbeddingProvider = "local"
    embedding_model: str = DEFAULT_LOCAL_EMBEDDING_MODEL
    embedding_base_url: str | None = None
    embedding_api_key: str | None = field(default=None, repr=False)
    embedding_batch_size: int = 64
    persona: str | None = None  # None: the shipped default persona
    human: str | None = None
    workspace_personas: tuple[tuple[str, str], ...] = ()  # (workspace id, persona) pairs
    core_block_limit: int = 2000
    chunk_tokens: int = 300
    chunk_overlap: int = 40
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    idle_seconds: float = 900.0  # agents unused this long are dropped from memory

    def persona_for(self, workspace: str) -> str | None:
        """The persona new agents of a workspace start with."""
        return dict(self.workspace_personas).get(workspace, self.persona)

    @property
    def state_path(self) -> Path:
        """The SQLite file holding agents, messages and sources."""
        return self.data_dir / "membot.sqlite3"

    @property
    def archive_uri(self) -> str:
        """Milvus URI: the configured server, or the Milvus Lite file under ``data_dir``."""
        return self.milvus_uri or str(self.data_dir / "archive.db")
