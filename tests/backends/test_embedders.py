"""Embedders: the real local model, and OpenAIEmbedder against a local /v1/embeddings server."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web

from agent_core.backends.embedders import (
    LocalEmbedder,
    OpenAIEmbedder,
    build_embedder,
    read_dimension,
    resolve_local_model,
)
from agent_core.config import EngineConfig
from agent_core.errors import ConfigError, LLMError
from agent_core.ports import Embedder

# --- the local model --------------------------------------------------------------------


def test_shipped_model_dimension_is_read_from_its_config() -> None:
    path = resolve_local_model("all-MiniLM-L6-v2")
    assert (path / "model.safetensors").exists()
    assert read_dimension(path) == 384


def test_dimension_follows_a_dense_projection(tmp_path: Path) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 768}))
    for sub, config in [
        ("1_Pooling", {"word_embedding_dimension": 768}),
        ("2_Dense", {"in_features": 768, "out_features": 256}),
    ]:
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "config.json").write_text(json.dumps(config))
    assert read_dimension(tmp_path) == 256


def test_unknown_local_model_says_what_is_available() -> None:
    with pytest.raises(ConfigError) as caught:
        LocalEmbedder("BAAI/bge-large-en-v1.5")
    assert caught.value.key == "MEMBOT_EMBEDDING_MODEL"
    assert caught.value.hint and "all-MiniLM-L6-v2" in caught.value.hint


async def test_local_vectors_are_normalized_and_meaningful(local_embedder: Embedder) -> None:
    assert isinstance(local_embedder, Embedder)
    texts = ["The cat sat on the mat.", "A kitten rested on the rug.", "Quarterly tax filing."]
    vectors = await local_embedder.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2
    empty = await local_embedder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


async def test_model_directory_path_loads_the_same_model(local_embedder: Embedder) -> None:
    path = resolve_local_model("all-MiniLM-L6-v2")
    by_path = LocalEmbedder(str(path), batch_size=2)
    assert by_path.name == str(path) and by_path.dimension == 384
    texts = ["one", "two", "three"]
    np.testing.assert_allclose(
        await by_path.embed(texts), await local_embedder.embed(texts), atol=1e-5
    )


# --- a strict local OpenAI-compatible /v1/embeddings server ----------------------------

KEY = "sk-test-key"


def fake_vector(text: str, dim: int) -> list[float]:
    """Deterministic, deliberately unnormalized vector for ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    return [float(b) - 100.0 for b in digest[:dim]]


@dataclass
class EmbeddingServer:
    """Speaks the /v1/embeddings JSON protocol; records requests; can be told to fail."""

    models: dict[str, int] = field(default_factory=lambda: {"embed-small": 8})
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return self.error(401, "Incorrect API key provided.", "invalid_api_key")
        body = await request.json()
        self.requests.append(body)
        if self.fail_with:
            return self.error(self.fail_with, "The server had an error.", None)
        if body.get("model") not in self.models:
            return self.error(
                404, f"The model `{body.get('model')}` does not exist", "model_not_found"
            )
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(inputs, list) or not inputs or any(not s for s in inputs):
            return self.error(400, "'$.input' is invalid.", None)
        dim = self.models[body["model"]]
        data = [
            self.item(i, fake_vector(s, dim), body.get("encoding_format"))
            for i, s in enumerate(inputs)
        ]
        data.reverse()  # order by "index", not position, as clients must
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return web.json_response(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        )

    @staticmethod
    def item(index: int, vector: list[float], encoding: str | None) -> dict[str, Any]:
        if encoding == "base64":
            encoded: Any = base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode()
        else:
            encoded = vector
        return {"object": "embedding", "index": index, "embedding": encoded}

    @staticmethod
    def error(status: int, message: str, code: str | None) -> web.Response:
        payload = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
        return web.json_response(payload, status=status)


@pytest.fixture
async def server() -> AsyncIterator[EmbeddingServer]:
    fake = EmbeddingServer()
    app = web.Application()
    app.router.add_post("/v1/embeddings", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}/v1"
    yield fake
    await runner.cleanup()


def make(server: EmbeddingServer, **kwargs: Any) -> OpenAIEmbedder:
    options: dict[str, Any] = {"base_url": server.url, "api_key": KEY, "max_retries": 0}
    return OpenAIEmbedder(kwargs.pop("model", "embed-small"), **(options | kwargs))


async def test_dimension_is_probed_once_then_batches_are_sent(server: EmbeddingServer) -> None:
    embedder = make(server, batch_size=3)
    assert await embedder.resolve_dimension() == 8
    assert embedder.dimension == 8 and len(server.requests) == 1
    texts = [f"text {i}" for i in range(7)]
    vectors = await embedder.embed(texts)
    assert [len(r["input"]) for r in server.requests[1:]] == [3, 3, 1]
    assert vectors.shape == (7, 8) and vectors.dtype == np.float32
    expected = np.asarray([fake_vector(t, 8) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    await embedder.aclose()


async def test_known_dimension_needs_no_probe_and_empty_text_is_sent_as_space(
    server: EmbeddingServer,
) -> None:
    embedder = make(server, dimension=8)
    vectors = await embedder.embed(["", "hello"])
    assert vectors.shape == (2, 8)
    assert server.requests == [
        {"model": "embed-small", "input": [" ", "hello"], "encoding_format": "float"}
    ]
    assert OpenAIEmbedder("text-embedding-3-small", api_key=KEY).dimension == 1536


async def test_wrong_vector_size_is_a_config_error(server: EmbeddingServer) -> None:
    embedder = make(server, dimension=16)
    with pytest.raises(ConfigError, match="8 dimensions, not 16"):
        await embedder.embed(["x"])


async def test_unknown_dimension_is_reported_until_resolved(server: EmbeddingServer) -> None:
    with pytest.raises(ConfigError, match="not known yet"):
        _ = make(server).dimension


async def test_rejected_key_names_the_setting(server: EmbeddingServer) -> None:
    with pytest.raises(ConfigError) as caught:
        await make(server, api_key="sk-wrong").embed(["x"])
    assert caught.value.key == "MEMBOT_EMBEDDING_API_KEY" and "401" in caught.value.message


async def test_unknown_model_names_the_setting(server: EmbeddingServer) -> None:
    with pytest.raises(ConfigError) as caught:
        await make(server, model="nope", dimension=8).embed(["x"])
    assert caught.value.key == "MEMBOT_EMBEDDING_MODEL" and "'nope'" in caught.value.message


async def test_server_error_is_a_retryable_llm_error(server: EmbeddingServer) -> None:
    server.fail_with = 503
    with pytest.raises(LLMError) as caught:
        await make(server, dimension=8).embed(["x"])
    assert caught.value.status == 503 and caught.value.retryable


async def test_unreachable_endpoint_names_url_and_settings() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    embedder = OpenAIEmbedder("m", base_url=url, api_key=KEY, max_retries=0, timeout=5)
    with pytest.raises(LLMError) as caught:
        await embedder.embed(["x"])
    assert f"127.0.0.1:{port}" in caught.value.message
    assert caught.value.hint and "MEMBOT_EMBEDDING_BASE_URL" in caught.value.hint


def test_missing_key_for_openai_itself_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="No API key") as caught:
        OpenAIEmbedder("text-embedding-3-small")
    assert caught.value.key == "OPENAI_API_KEY"


async def test_build_embedder_follows_the_config(tmp_path: Path, server: EmbeddingServer) -> None:
    local = build_embedder(EngineConfig(data_dir=tmp_path))
    assert isinstance(local, LocalEmbedder) and local.dimension == 384
    remote = build_embedder(
        EngineConfig(
            data_dir=tmp_path,
            embedding_provider="openai",
            embedding_model="embed-small",
            embedding_base_url=server.url,
            openai_api_key=KEY,
            embedding_batch_size=5,
        )
    )
    assert isinstance(remote, OpenAIEmbedder) and remote.batch_size == 5
    with pytest.raises(ConfigError, match="Unknown embedding provider"):
        build_embedder(EngineConfig(data_dir=tmp_path, embedding_provider="bogus"))  # type: ignore[arg-type]
