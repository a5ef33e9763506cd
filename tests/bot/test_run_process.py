"""`membot run slack` as an operator runs it: a real process, SIGTERM with a turn in flight."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from agent_core.testing import FakeOpenAIServer, send_message
from tests.adapters.slack_bot.fake_slack import FakeSlack, SlackSender

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-signing-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_http(url: str, limit: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(url)
            await asyncio.sleep(0.2)


async def test_sigterm_finishes_the_turn_in_flight_then_exits(tmp_path: Path) -> None:
    arrived = asyncio.Event()

    async def slow(body: dict[str, object]) -> object:
        arrived.set()
        await asyncio.sleep(1.5)
        return send_message("Here is the answer you waited for.")

    fake = FakeSlack()
    await fake.start()
    slack_port, ops_port = free_port(), free_port()
    try:
        async with FakeOpenAIServer(slow) as llm:
            env = {**os.environ, "MEMBOT_DATA_DIR": str(tmp_path), "OPENAI_API_KEY": "test-key",
                   "OPENAI_BASE_URL": llm.base_url, "SLACK_BOT_TOKEN": fake.bot_token,
                   "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
                   "MEMBOT_SLACK_PORT": str(slack_port), "MEMBOT_SLACK_HOST": "127.0.0.1",
                   "MEMBOT_HTTP_PORT": str(ops_port), "PYTHONPATH": str(ROOT)}
            env.pop("SLACK_APP_TOKEN", None)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", "slack", cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                await wait_http(f"http://127.0.0.1:{ops_port}/healthz")
                await wait_http(f"http://127.0.0.1:{slack_port}/healthz")
                sender = SlackSender(f"http://127.0.0.1:{slack_port}/slack/events", SECRET, fake)
                status, _ = await sender.event({
                    "type": "message", "channel_type": "im", "channel": "D1", "user": "U1",
                    "text": "a slow question", "ts": "1600000000.000001", "team": fake.team})
                assert status == 200
                await asyncio.wait_for(arrived.wait(), 60)
                proc.send_signal(signal.SIGTERM)
                _, err = await asyncio.wait_for(proc.communicate(), 60)
            finally:
                if proc.returncode is None:
                    proc.kill()
        assert proc.returncode == 0, err.decode()[-2000:]
        texts = [m.text for m in fake.bot_messages("D1")]
        assert any("answer you waited for" in t for t in texts), texts
    finally:
        await fake.aclose()
    # the stored conversation is complete: a restarted bot sees the whole turn
    from agent_core.backends.sqlite_state import SqliteState

    state = await SqliteState.open(tmp_path / "membot.sqlite3")
    try:
        agents = await state.list_agents()
        roles = [m.role for m in await state.all_messages(agents[0].id)]
        assert roles == ["user", "assistant", "tool"]
        assert json.loads((await state.all_messages(agents[0].id))[2].content or "{}")[
            "status"] == "OK"
    finally:
        await state.aclose()
