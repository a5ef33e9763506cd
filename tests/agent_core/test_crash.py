"""A process killed with SIGKILL mid-turn restarts with the message stored and state consistent."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from agent_core.backends.openai_chat import OpenAIChatModel
from agent_core.domain import ConversationKey, IncomingMessage
from agent_core.testing import FakeOpenAIServer, send_message
from tests.conftest import MakeEngine

ROOT = Path(__file__).resolve().parents[2]


async def test_sigkill_mid_turn_keeps_the_message(make_engine: MakeEngine,
                                                 tmp_path: Path) -> None:
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def hang(body: dict[str, object]) -> object:
        arrived.set()
        await release.wait()
        return send_message("too late")

    async with FakeOpenAIServer(hang) as server:
        data_dir = tmp_path / "data"
        child = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "tests/agent_core/crash_child.py"), str(data_dir),
            server.base_url, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        await asyncio.wait_for(arrived.wait(), 120)
        child.send_signal(signal.SIGKILL)
        await child.wait()
        release.set()

        server.responder = lambda body: send_message("You told me: tulip-42.")
        model = OpenAIChatModel("test-model", api_key="test-key", base_url=server.base_url)
        engine = await make_engine(chat_model=model, data_dir=data_dir)
        conv = ConversationKey("test", "w", "crash")
        view = await engine.memory(conv)
        assert view.messages == 1  # the user's message survived the kill
        result = await engine.handle(IncomingMessage(conv, "What is the launch code?"))
        assert result.text == "You told me: tulip-42."
        last = server.requests[-1]["messages"]
        texts = [m["content"] or "" for m in last]  # type: ignore[index]
        assert any("tulip-42" in t for t in texts)  # the stored message is in context
