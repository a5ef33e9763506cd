"""Operating membot: example config, health/metrics over HTTP, graceful shutdown, agent CLI."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiohttp
import pytest

from agent_core.domain import ConversationKey, IncomingMessage
from agent_core.engine import Engine
from agent_core.errors import ConfigError
from agent_core.testing import FakeOpenAIServer, call_tool, send_message
from bot.cli_ops import example_config
from bot.runner import serve
from bot.server import OpsServer
from bot.settings import load_settings
from tests.bot.test_cli import membot
from tests.conftest import MakeEngine

CONV = ConversationKey("test", "w", "op")


def test_example_config_is_valid_once_uncommented(tmp_path: Path) -> None:
    text = example_config()
    uncommented = re.sub(r"^# (\w+ = .*)$", r"\1", text, flags=re.M)
    path = tmp_path / "membot.toml"
    path.write_text(uncommented)
    settings = load_settings({}, path)
    assert settings["model"] == "gpt-4o-mini"
    assert settings.discord().scope == "user" and settings.slack().port == 3000
    assert "OPENAI_API_KEY" in text and "openai_api_key =" not in text


def test_adapter_settings_from_env_name_the_key() -> None:
    settings = load_settings({"MEMBOT_DISCORD_SCOPE": "thread", "MEMBOT_SLACK_COMMAND_PREFIX":
                              "mb-", "MEMBOT_DISCORD_ADMIN_ROLES": "5, 7"})
    assert settings.discord().scope == "thread"
    assert settings.discord().admin_role_ids == frozenset({5, 7})
    assert settings.slack().command("attach") == "/mb-attach"
    with pytest.raises(ConfigError, match=r"discord\.scope"):
        load_settings({"MEMBOT_DISCORD_SCOPE": "galaxy"}).discord()


async def test_health_and_metrics_over_http(make_engine: MakeEngine) -> None:
    engine = await make_engine()
    await engine.handle(IncomingMessage(CONV, "hello"))
    ops = OpsServer(engine, "127.0.0.1", 0, platforms=lambda: {"slack": {"running": True}})
    await ops.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{ops.port}/healthz") as resp:
                health = await resp.json()
                assert resp.status == 200
            async with http.get(f"http://127.0.0.1:{ops.port}/metrics") as resp:
                metrics = await resp.text()
    finally:
        await ops.aclose()
    assert health["status"] == "ok" and health["checks"]["state"] == "ok"
    assert health["platforms"] == {"slack": {"running": True}}
    assert 'membot_turns_total{outcome="ok"} 1' in metrics
    assert 'membot_tool_calls_total{status="ok",tool="send_message"} 1' in metrics
    assert "membot_llm_request_seconds_count 1" in metrics


async def test_shutdown_lets_the_turn_in_flight_finish(make_engine: MakeEngine) -> None:
    async with FakeOpenAIServer(lambda body: send_message("done"), latency=1.0) as server:
        from agent_core.backends.openai_chat import OpenAIChatModel

        model = OpenAIChatModel("m", api_key="test-key", base_url=server.base_url)
        engine: Engine = await make_engine(chat_model=model)
        stop = asyncio.Event()
        replies: list[str] = []
        started = asyncio.Event()

        async def platform(e: Engine) -> None:
            started.set()
            result = await e.handle(IncomingMessage(CONV, "slow question"))
            replies.append(result.text)
            await asyncio.Event().wait()

        runner = asyncio.create_task(serve(engine, {"fake": platform}, stop=stop,
                                           install_signals=False))
        await started.wait()
        await asyncio.sleep(0.2)  # the turn is waiting on the model now
        stop.set()
        assert await runner == 0
    assert engine._closing
    # the platform task was cancelled, but the engine waited for the turn to finish
    reopened = await make_engine(config=engine.config)
    view = await reopened.memory(CONV)
    assert view.messages == 3  # user, assistant (send_message), tool result


async def test_agents_export_import_from_the_command_line(tmp_path: Path) -> None:
    def responder(body: dict[str, object]) -> object:
        if len(body["messages"]) <= 2:  # type: ignore[arg-type]
            return call_tool("archival_memory_insert", heartbeat=True, content="The wifi "
                             "password is in the blue binder.")
        return send_message("Saved.")

    async with FakeOpenAIServer(responder) as server:
        env = {"MEMBOT_DATA_DIR": str(tmp_path / "a"), "OPENAI_BASE_URL": server.base_url,
               "OPENAI_API_KEY": "test-key"}
        code, _, err = await membot("chat", "--agent", "ops", env=env,
                                    stdin="remember where the wifi password is\n")
        assert code == 0, err
        code, out, err = await membot("agents", env=env)
        assert code == 0, err
        assert "console:local:ops" in out
        code, out, err = await membot("export", "console:local:ops", env=env)
        assert code == 0, err
        document = json.loads(out)
        assert document["archival"][0]["text"].startswith("The wifi password")
        (tmp_path / "agent.json").write_text(out)
        env["MEMBOT_DATA_DIR"] = str(tmp_path / "b")
        code, out, err = await membot("import", str(tmp_path / "agent.json"), env=env)
        assert code == 0, err
        code, out, err = await membot("agents", env=env)
        assert "console:local:ops" in out and re.search(r"console:local:ops\s+\d+\s+1\s", out)
