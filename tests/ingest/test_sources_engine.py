"""Sources through the engine on the real backends: Milvus Lite, SQLite, the local model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_core.domain import ConversationKey, IncomingMessage, UploadedFile
from agent_core.errors import NotFoundError
from agent_core.testing import ScriptedChatModel, call_tool, send_message
from tests.conftest import MakeEngine

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs"
ALICE = ConversationKey("test", "acme", "alice")
MALLORY = ConversationKey("test", "other-co", "mallory")


def fixture(name: str) -> UploadedFile:
    return UploadedFile(name, (DOCS / name).read_bytes())


def pdfs() -> list[str]:
    return sorted(p.name for p in DOCS.glob("*.pdf"))


async def test_pdf_load_attach_search_detach(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel()
    engine = await make_engine(chat_model=model)
    good = [n for n in pdfs() if not any(k in n for k in ("encrypted", "truncated", "scan",
                                                          "image"))]
    report = await engine.load_source("acme", "handbook", [fixture(n) for n in good])
    assert report.files_loaded == len(good) and report.passages > 0 and report.pages >= 2
    assert "into 'handbook'" in report.summary()
    again = await engine.load_source("acme", "handbook", [fixture(n) for n in good])
    assert again.passages == 0 and again.files_unchanged == len(good)

    await engine.attach(ALICE, "handbook")
    model.enqueue(call_tool("archival_memory_search", heartbeat=True, query="report"),
                  send_message("found"))
    await engine.handle(IncomingMessage(ALICE, "search the handbook"))
    found = json.loads(model.calls[-1].messages[-1].content or "{}")["message"]
    assert '"source": "handbook"' in found and '"page": ' in found
    assert f"of {report.passages} " in found  # a real total over the source's passages

    await engine.detach(ALICE, "handbook")
    model.enqueue(call_tool("archival_memory_search", heartbeat=True, query="report"),
                  send_message("nothing"))
    await engine.handle(IncomingMessage(ALICE, "search again"))
    after = json.loads(model.calls[-1].messages[-1].content or "{}")["message"]
    assert "handbook" not in after

    # another workspace can neither see nor attach it
    assert await engine.sources("other-co") == []
    with pytest.raises(NotFoundError, match="no source named 'handbook'"):
        await engine.attach(MALLORY, "handbook")


async def test_a_load_where_nothing_could_be_read_leaves_no_source(
        make_engine: MakeEngine) -> None:
    engine = await make_engine()
    report = await engine.load_source("acme", "broken", [UploadedFile("x.pdf", b"%PDF-1.4 junk"),
                                                         UploadedFile("e.txt", b"")])
    assert report.files_loaded == 0 and len(report.skipped) == 2
    assert await engine.sources("acme") == []


async def test_a_changed_file_with_the_same_name_is_kept_apart(make_engine: MakeEngine) -> None:
    engine = await make_engine()
    await engine.load_source("acme", "notes", [UploadedFile("notes.txt", b"Version one: "
                                                            b"the meeting is on Monday.")])
    await engine.load_source("acme", "notes", [UploadedFile("notes.txt", b"Version two: "
                                                            b"the meeting moved to Friday.")])
    source = (await engine.sources("acme"))[0]
    assert source.files == 2
    names = sorted(await engine.state.source_file_names(source.id))
    assert names == ["notes.txt", "notes.txt (2)"]
    hits = await engine.search_sources("acme", ["notes"], "when is the meeting", k=5)
    assert {h.doc for h in hits} == {"notes.txt", "notes.txt (2)"}
