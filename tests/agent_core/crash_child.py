"""A membot process that is killed mid-turn by test_crash.py."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agent_core.backends.openai_chat import OpenAIChatModel
from agent_core.config import EngineConfig
from agent_core.domain import ConversationKey, IncomingMessage
from agent_core.engine import Engine


async def main(data_dir: str, base_url: str) -> None:
    config = EngineConfig(data_dir=Path(data_dir), model="test-model")
    model = OpenAIChatModel("test-model", api_key="test-key", base_url=base_url)
    engine = await Engine.open(config, chat_model=model)
    conv = ConversationKey("test", "w", "crash")
    await engine.handle(IncomingMessage(conv, "Remember: the launch code is tulip-42."))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
