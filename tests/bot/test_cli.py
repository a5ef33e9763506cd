"""`membot chat` as a user runs it: a real process, piped stdin, a local model server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from agent_core.testing import FakeOpenAIServer, call_tool, last_user_text, send_message

ROOT = Path(__file__).resolve().parents[2]


async def membot(*args: str, env: dict[str, str], stdin: str = "") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=ROOT, env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 180)
    return proc.returncode or 0, out.decode(), err.decode()


def responder(body: dict[str, object]) -> object:
    from agent_core.domain import ChatMessage

    messages = [ChatMessage(m["role"], m.get("content")) for m in body["messages"]  # type: ignore
                if m["role"] in ("user", "system")]
    text = last_user_text(messages)
    if text.startswith("my name is"):
        return call_tool("core_memory_replace", heartbeat=False, label="human",
                         old_content="Nothing is known about the user yet.",
                         new_content="Name: " + text.removeprefix("my name is ").strip())
    return send_message("echo: " + text)


async def test_piped_chat_remembers_across_processes(tmp_path: Path) -> None:
    async with FakeOpenAIServer(responder) as server:
        env = {"MEMBOT_DATA_DIR": str(tmp_path), "OPENAI_BASE_URL": server.base_url,
               "OPENAI_API_KEY": "test-key", "MEMBOT_MODEL": "test-model"}
        code, out, err = await membot("chat", env=env, stdin="hello\nmy name is Grace\n")
        assert code == 0, err
        assert "agent> echo: hello" in out
        code, out, err = await membot("chat", env=env, stdin="/memory\n/exit\nnot read\n")
        assert code == 0, err
        assert "Name: Grace" in out
        assert "not read" not in out


async def test_missing_model_configuration_is_one_line(tmp_path: Path) -> None:
    env = {"MEMBOT_DATA_DIR": str(tmp_path), "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    code, _out, err = await membot("chat", env=env)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "OPENAI_API_KEY" in err


async def test_config_masks_secrets(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-abcdefghijklmnop9876", "MEMBOT_MODEL": "m"}
    code, out, _ = await membot("config", env=env)
    assert code == 0
    assert "abcdefghijklmnop" not in out and "****9876" in out
    assert "env MEMBOT_MODEL" in out


async def test_console_source_commands(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "faq.md").write_text("# FAQ\n\nThe office opens at 8 am on weekdays.\n")
    async with FakeOpenAIServer(responder) as server:
        env = {"MEMBOT_DATA_DIR": str(tmp_path / "data"), "OPENAI_BASE_URL": server.base_url,
               "OPENAI_API_KEY": "test-key"}
        script = (f"/load {tmp_path / 'docs'} --name faq\n/sources\n/attach faq\n/memory\n"
                  "/detach faq\n/attach nope\n/bogus\n")
        code, out, err = await membot("chat", env=env, stdin=script)
    assert code == 0, err
    assert "Loaded 1 passage from 1 file (1 page) into 'faq'" in out
    assert "**faq**: 1 file, 1 passages" in out
    assert "Source 'faq' attached" in out
    assert "**Attached sources:** faq" in out
    assert "Source 'faq' detached" in out
    assert "no source named 'nope'" in out
    assert "Unknown command /bogus" in out


async def test_secrets_never_reach_the_logs_even_at_debug(tmp_path: Path) -> None:
    secret = "sk-topsecret-0123456789abcdef"
    async with FakeOpenAIServer(responder, api_key="another-key") as server:  # refuses ours
        env = {"MEMBOT_DATA_DIR": str(tmp_path), "OPENAI_BASE_URL": server.base_url,
               "OPENAI_API_KEY": secret, "MEMBOT_LOG_LEVEL": "DEBUG",
               "SLACK_BOT_TOKEN": "xoxb-secret-slack-token", "MEMBOT_MILVUS_TOKEN": "root:pw1"}
        code, out, err = await membot("chat", env=env, stdin="hello\n")
        _, config_out, _ = await membot("config", env=env)
    assert code == 0
    assert "refused the API key" in out and "OPENAI_API_KEY" in out
    for text in (out, err, config_out):
        assert secret not in text and "topsecret" not in text
        assert "secret-slack-token" not in text and "root:pw1" not in text
