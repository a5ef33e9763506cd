"""Export/import of an agent and moving passages to another Milvus store."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from agent_core.backends.milvus_archive import MilvusArchive
from agent_core.domain import ConversationKey, IncomingMessage
from agent_core.errors import MembotError
from agent_core.portability import migrate_archive
from agent_core.testing import ScriptedChatModel, call_tool, send_message
from tests.conftest import MakeEngine

CONV = ConversationKey("test", "w", "ada")


async def _teach(make_engine: MakeEngine) -> tuple[object, ScriptedChatModel]:
    model = ScriptedChatModel(lambda m: send_message("ok")).enqueue(
        call_tool("core_memory_append", heartbeat=True, label="human", content="Name: Ada."),
        call_tool("archival_memory_insert", heartbeat=True,
                  content="Ada's favourite dish is mushroom risotto."),
        send_message("Saved."))
    engine = await make_engine(chat_model=model)
    await engine.handle(IncomingMessage(CONV, "I'm Ada and I love mushroom risotto."))
    return engine, model


async def test_export_import_round_trip_answers_from_the_same_memories(
        make_engine: MakeEngine, tmp_path: Path) -> None:
    engine, _ = await _teach(make_engine)
    document = json.loads(json.dumps(await engine.export(CONV)))  # survives JSON
    assert document["format"] == "membot-agent"
    assert len(document["archival"]) == 1 and len(document["archival"][0]["vector"]) == 384

    model = ScriptedChatModel().enqueue(
        call_tool("archival_memory_search", heartbeat=True, query="what food do I like"),
        send_message("Mushroom risotto."))
    other = await make_engine(chat_model=model, data_dir=tmp_path / "elsewhere")
    key = await other.import_(document)
    assert key == str(CONV)
    await other.handle(IncomingMessage(CONV, "What is my favourite food?"))
    assert "Name: Ada." in (model.calls[0].messages[0].content or "")
    result = json.loads(model.calls[1].messages[-1].content or "{}")
    assert "mushroom risotto" in result["message"]
    history = model.calls[0].messages
    assert any("love mushroom risotto" in (m.content or "") for m in history)
    view = await other.memory(CONV)
    assert view.archival == 1 and view.messages >= 8

    with pytest.raises(MembotError, match="already has an agent"):
        await other.import_(document)
    await other.import_(document, replace=True)


async def test_migrate_lite_to_lite_keeps_every_passage(make_engine: MakeEngine,
                                                       tmp_path: Path) -> None:
    engine, _ = await _teach(make_engine)
    target = await MilvusArchive.open(str(tmp_path / "new-archive.db"), token=None,
                                      collection="passages", dimension=384,
                                      embedding_model=engine.embedder.name)
    counts = await migrate_archive(engine, target)
    assert counts["passages"] == 1
    agent_id = (await engine.memory(CONV)).agent_id
    assert await target.count([agent_id]) == 1
    vector = (await engine.embedder.embed(["risotto"]))[0]
    found = await target.search("risotto", vector, [agent_id], 5)
    assert "mushroom risotto" in found[0].text
    await target.aclose()
    config = replace(engine.config, milvus_uri=str(tmp_path / "new-archive.db"))
    await engine.aclose()
    moved = await make_engine(config=config)
    assert (await moved.memory(CONV)).archival == 1
