"""One validated settings object, from environment variables and an optional TOML file.

Precedence: environment > TOML file > defaults. Unknown keys and invalid values are
rejected with one line naming the key. Secrets come from the environment only and
are masked wherever settings are shown.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from agent_core.config import EngineConfig
from agent_core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Key:
    """One setting: its TOML name (``section.name``), env var, parser and default."""

    name: str
    env: str
    parse: Callable[[str], Any]
    default: Any = None
    secret: bool = False
    help: str = ""


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return text
    return parse


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in _csv(text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"'{item}' is not WORKSPACE_ID=persona")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _str(text: str) -> str:
    return text


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return text.rstrip("/")


KEYS: tuple[Key, ...] = (
    Key("openai_api_key", "OPENAI_API_KEY", _str, secret=True,
        help="API key of the chat model endpoint"),
    Key("openai_base_url", "OPENAI_BASE_URL", _url,
        help="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, Azure...)"),
    Key("azure_api_version", "MEMBOT_AZURE_API_VERSION", _str,
        help="set to use Azure OpenAI (OPENAI_BASE_URL is then the Azure endpoint)"),
    Key("model", "MEMBOT_MODEL", _str, "gpt-4o-mini", help="chat model name"),
    Key("context_window", "MEMBOT_CONTEXT_WINDOW", _positive_int, 8192,
        help="tokens the model accepts; memory pressure is managed within it"),
    Key("max_steps", "MEMBOT_MAX_STEPS", _positive_int, 10,
        help="most chained function calls in one turn"),
    Key("llm_concurrency", "MEMBOT_LLM_CONCURRENCY", _positive_int, 8,
        help="most simultaneous model calls"),
    Key("data_dir", "MEMBOT_DATA_DIR", _str, None,
        help="where state and the Milvus Lite archive live"),
    Key("milvus_uri", "MEMBOT_MILVUS_URI", _str,
        help="Milvus server URI (http://host:19530); empty: Milvus Lite in the data dir"),
    Key("milvus_token", "MEMBOT_MILVUS_TOKEN", _str, secret=True, help="Milvus server token"),
    Key("archive_cache_rows", "MEMBOT_ARCHIVE_CACHE_ROWS", _positive_int, 250_000,
        help="passage vectors kept in memory for fast exact search on Milvus Lite "
             "(1.5 KB each at 384 dimensions)"),
    Key("retrieval", "MEMBOT_RETRIEVAL", _choice("hybrid", "dense"), "hybrid",
        help="archival search ranking: hybrid (vectors + keywords, fused) or dense (vectors)"),
    Key("embedding_provider", "MEMBOT_EMBEDDING_PROVIDER", _choice("local", "openai"), "local",
        help="local (bundled all-MiniLM-L6-v2) or openai (any /embeddings endpoint)"),
    Key("embedding_model", "MEMBOT_EMBEDDING_MODEL", _str, None,
        help="embedding model name (default all-MiniLM-L6-v2 / text-embedding-3-small)"),
    Key("embedding_base_url", "MEMBOT_EMBEDDING_BASE_URL", _url,
        help="embeddings endpoint (default: OPENAI_BASE_URL)"),
    Key("embedding_api_key", "MEMBOT_EMBEDDING_API_KEY", _str, secret=True,
        help="embeddings API key (default: OPENAI_API_KEY)"),
    Key("persona", "MEMBOT_PERSONA", _str, None,
        help="shipped persona name (assistant, doc_qa, companion) or a path to a text file"),
    Key("workspace_personas", "MEMBOT_WORKSPACE_PERSONAS", _pairs, None,
        help="per server/workspace personas: 'WORKSPACE_ID=persona,...' (persona: a shipped "
             "name or a file path)"),
    Key("human", "MEMBOT_HUMAN", _str, None, help="initial 'human' block text or file path"),
    Key("max_file_mb", "MEMBOT_MAX_FILE_MB", _positive_int, 25, help="upload size limit"),
    Key("chunk_tokens", "MEMBOT_CHUNK_TOKENS", _positive_int, 300,
        help="passage size for documents"),
    Key("discord_token", "DISCORD_TOKEN", _str, secret=True, help="Discord bot token"),
    Key("slack_bot_token", "SLACK_BOT_TOKEN", _str, secret=True, help="Slack bot token (xoxb-)"),
    Key("slack_app_token", "SLACK_APP_TOKEN", _str, secret=True,
        help="Slack app-level token (xapp-): Socket Mode"),
    Key("slack_signing_secret", "SLACK_SIGNING_SECRET", _str, secret=True,
        help="Slack signing secret: HTTP mode"),
    Key("http_host", "MEMBOT_HTTP_HOST", _str, "127.0.0.1",
        help="interface of the /healthz and /metrics server"),
    Key("http_port", "MEMBOT_HTTP_PORT", int, 9464,
        help="port of the /healthz and /metrics server (0: off)"),
    Key("log_level", "MEMBOT_LOG_LEVEL", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
    Key("log_json", "MEMBOT_LOG_JSON", _bool, False, help="structured JSON log lines"),
)

def _platform_keys() -> tuple[Key, ...]:
    from bot.platform_settings import platform_fields

    return tuple(Key(name, env, parse, default) for name, env, parse, default in
                 platform_fields())


KEYS = KEYS + _platform_keys()
_BY_NAME = {k.name: k for k in KEYS}


def default_data_dir() -> Path:
    """A ``membot`` folder under the user's data directory."""
    return Path(platformdirs.user_data_dir("membot", appauthor=False))


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in _BY_NAME:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated settings: ``values`` by key name, ``origin`` says where each came from."""

    values: Mapping[str, Any]
    origin: Mapping[str, str]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def masked(self) -> dict[str, str]:
        """Every setting as text, secrets masked (for ``membot config`` and logs)."""
        shown: dict[str, str] = {}
        for key in KEYS:
            value = self.values.get(key.name)
            if key.secret and value:
                shown[key.name] = "****" + str(value)[-4:] if len(str(value)) > 12 else "****"
            else:
                shown[key.name] = "" if value is None else str(value)
        return shown

    def engine_config(self) -> EngineConfig:
        """The engine's configuration from these settings."""
        v = self.values
        provider = v["embedding_provider"]
        embedding_model = v["embedding_model"] or (
            "all-MiniLM-L6-v2" if provider == "local" else "text-embedding-3-small")
        return EngineConfig(
            data_dir=Path(v["data_dir"]) if v["data_dir"] else default_data_dir(),
            model=v["model"], context_window=v["context_window"], max_steps=v["max_steps"],
            llm_concurrency=v["llm_concurrency"], openai_api_key=v["openai_api_key"],
            openai_base_url=v["openai_base_url"], azure_api_version=v["azure_api_version"],
            milvus_uri=v["milvus_uri"] or None, milvus_token=v["milvus_token"],
            archive_cache_rows=v["archive_cache_rows"], retrieval=v["retrieval"],
            embedding_provider=provider, embedding_model=embedding_model,
            embedding_base_url=v["embedding_base_url"] or v["openai_base_url"],
            embedding_api_key=v["embedding_api_key"] or v["openai_api_key"],
            persona=_text_or_file(v["persona"]), human=_text_or_file(v["human"]),
            workspace_personas=tuple((w, _text_or_file(p) or p)
                                     for w, p in v["workspace_personas"] or ()),
            max_file_bytes=v["max_file_mb"] * 1024 * 1024, chunk_tokens=v["chunk_tokens"])

    def discord(self) -> Any:
        """The Discord adapter's settings."""
        from adapters.discord_bot.settings import DiscordSettings
        from bot.platform_settings import build

        return build(DiscordSettings, "discord", dict(self.values),
                     self.values["max_file_mb"] * 1024 * 1024)

    def slack(self) -> Any:
        """The Slack adapter's settings."""
        from adapters.slack_bot.settings import SlackSettings
        from bot.platform_settings import build

        return build(SlackSettings, "slack", dict(self.values),
                     self.values["max_file_mb"] * 1024 * 1024)

    def require_llm(self) -> None:
        """Fail with one readable line when no model endpoint is configured."""
        if not self.values["openai_api_key"] and not self.values["openai_base_url"]:
            raise ConfigError(
                "No language model is configured.", key="OPENAI_API_KEY",
                hint="Set OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL for a local "
                     "OpenAI-compatible server (Ollama, vLLM, llama.cpp).")


def _text_or_file(value: str | None) -> str | None:
    if value and len(value) < 4096 and Path(value).expanduser().is_file():
        return Path(value).expanduser().read_text("utf-8")
    return value


def load_settings(env: Mapping[str, str] | None = None,
                  config_path: str | Path | None = None) -> Settings:
    """Build settings from ``env`` (default: ``os.environ``) and the TOML file.

    The file is ``config_path``, else ``MEMBOT_CONFIG``, else none.
    """
    env = os.environ if env is None else env
    path = config_path or env.get("MEMBOT_CONFIG")
    file_values = _read_toml(Path(path)) if path else {}
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key in KEYS:
        raw, where = _raw_value(key, env, file_values)
        values[key.name] = _parse(key, raw, where) if raw is not None else key.default
        origin[key.name] = where
    return Settings(values, origin)


def _raw_value(key: Key, env: Mapping[str, str],
               file_values: Mapping[str, Any]) -> tuple[Any, str]:
    if env.get(key.env, "") != "":
        return env[key.env], f"env {key.env}"
    if file_values.get(key.name, "") != "":
        return file_values[key.name], "file"
    return None, "default"


def _parse(key: Key, raw: Any, where: str) -> Any:
    try:
        return key.parse(raw if isinstance(raw, str) else _toml_text(raw))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"Invalid value for {key.name} ({where}): {exc}.",
                          key=key.name) from exc


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"The config file {path} does not exist.", key="MEMBOT_CONFIG") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The config file {path} is not valid TOML: {exc}.",
                          key="MEMBOT_CONFIG") from exc
    flat = _flatten(data)
    for name in flat:
        if name not in _BY_NAME:
            raise ConfigError(f"Unknown setting '{name}' in {path}.", key=name,
                              hint="`membot init` writes an example with every setting.")
        if _BY_NAME[name].secret:
            raise ConfigError(f"The secret '{name}' may not be set in {path}.", key=name,
                              hint=f"Set the environment variable {_BY_NAME[name].env}.")
    return flat
