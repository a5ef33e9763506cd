from __future__ import annotations

from pathlib import Path

import pytest

from agent_core.errors import ConfigError
from bot.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "membot.toml"
    path.write_text(text)
    return path


def test_environment_wins_over_file_over_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "from-file"\ncontext_window = 16000\n')
    settings = load_settings({"MEMBOT_MODEL": "from-env"}, path)
    assert settings["model"] == "from-env"
    assert settings["context_window"] == 16000
    assert settings["max_steps"] == 10
    assert settings.origin["model"] == "env MEMBOT_MODEL"
    assert settings.origin["context_window"] == "file"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "m2"\n')
    assert load_settings({"MEMBOT_CONFIG": str(path)})["model"] == "m2"


@pytest.mark.parametrize(("env", "key"), [
    ({"MEMBOT_CONTEXT_WINDOW": "lots"}, "context_window"),
    ({"MEMBOT_CONTEXT_WINDOW": "-5"}, "context_window"),
    ({"MEMBOT_EMBEDDING_PROVIDER": "magic"}, "embedding_provider"),
    ({"OPENAI_BASE_URL": "localhost:8000"}, "openai_base_url"),
])
def test_invalid_values_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert info.value.key == key
    assert key in str(info.value)


def test_unknown_keys_and_secrets_in_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Unknown setting 'modle'"):
        load_settings({}, write(tmp_path, 'modle = "x"\n'))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        load_settings({}, write(tmp_path, 'openai_api_key = "sk-123"\n'))


def test_secrets_are_masked() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-verysecretvalue1234",
                              "MEMBOT_MILVUS_TOKEN": "root:Milvus"})
    shown = settings.masked()
    assert "verysecret" not in shown["openai_api_key"]
    assert shown["openai_api_key"].endswith("1234")
    assert shown["milvus_token"] == "****"
    assert "sk-verysecretvalue1234" not in repr(settings.engine_config())


def test_missing_llm_is_one_readable_line() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}).require_llm()
    assert "OPENAI_API_KEY" in info.value.user_message()
    assert "OPENAI_BASE_URL" in info.value.user_message()


def test_engine_config_defaults(tmp_path: Path) -> None:
    cfg = load_settings({"MEMBOT_DATA_DIR": str(tmp_path), "OPENAI_BASE_URL":
                         "http://127.0.0.1:8000/v1"}).engine_config()
    assert cfg.data_dir == tmp_path
    assert cfg.archive_uri == str(tmp_path / "archive.db")
    assert cfg.embedding_model == "all-MiniLM-L6-v2"
    assert cfg.embedding_base_url == "http://127.0.0.1:8000/v1"


def test_personas_per_workspace_from_file_or_env(tmp_path: Path) -> None:
    custom = tmp_path / "pirate.txt"
    custom.write_text("I talk like a pirate.")
    path = write(tmp_path, f'[workspace_personas]\nG1 = "doc_qa"\nT2 = "{custom}"\n')
    cfg = load_settings({}, path).engine_config()
    assert cfg.persona_for("G1") == "doc_qa"
    assert cfg.persona_for("T2") == "I talk like a pirate."
    assert cfg.persona_for("other") is None  # the default persona
    env = load_settings({"MEMBOT_WORKSPACE_PERSONAS": "G9=companion"}).engine_config()
    assert env.persona_for("G9") == "companion"
    with pytest.raises(ConfigError, match="workspace_personas"):
        load_settings({"MEMBOT_WORKSPACE_PERSONAS": "nonsense"})
