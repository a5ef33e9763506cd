"""KeywordIndex against real SQLite FTS5 files on temporary paths."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent_core.backends.keyword_index import SCHEMA_VERSION, KeywordIndex, fts_query
from agent_core.errors import StorageError

AGENT = "a_" + "1" * 32
OTHER = "a_" + "2" * 32
SOURCE = "s_" + "3" * 32

TEXTS = {
    1: "The replacement pump for the cooling loop is part ZX-4471B.",
    2: "Cooling loops need a pump; check the pressure every week.",
    3: "Invoices are paid within thirty days of delivery.",
    4: "Ms. Okonkwo-Vandersloot approved the pump budget in March.",
}


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[KeywordIndex]:
    async with await KeywordIndex.open(tmp_path / "keywords.sqlite3") as opened:
        await opened.add(list(TEXTS), [AGENT] * len(TEXTS), ["manual.pdf"] * 3 + ["notes.md"],
                         list(TEXTS.values()))
        yield opened


async def test_ranks_the_passage_with_the_rare_word_first(index: KeywordIndex) -> None:
    assert (await index.search("which part is ZX-4471B?", [AGENT], 10))[0] == 1
    assert (await index.search("who approved Okonkwo-Vandersloot", [AGENT], 10))[0] == 4


async def test_stemming_matches_other_forms_and_any_word_may_match(index: KeywordIndex) -> None:
    found = await index.search("pumps", [AGENT], 10)
    assert set(found) == {1, 2, 4}
    assert await index.search("invoice paying", [AGENT], 10) == [3]


async def test_limit_and_no_words(index: KeywordIndex) -> None:
    assert len(await index.search("pump", [AGENT], 2)) == 2
    assert await index.search("pump", [AGENT], 0) == []
    assert await index.search("?!  ...", [AGENT], 10) == []
    assert await index.search("pump", [], 10) == []


@pytest.mark.parametrize("query", ['"pump', "pump AND", "NEAR(pump", "pump*", "-pump",
                                   "tag : 1", "owner:x", "(((", "pump OR OR"])
async def test_query_syntax_in_user_text_is_only_words(index: KeywordIndex, query: str) -> None:
    found = await index.search(query, [AGENT], 10)
    assert all(i in TEXTS for i in found)


async def test_search_never_leaves_the_owners_given(index: KeywordIndex) -> None:
    await index.add([10, 11], [OTHER, SOURCE], ["x.pdf", "y.pdf"],
                    ["ZX-4471B pump of the other agent", "ZX-4471B pump in a source"])
    assert await index.search("ZX-4471B", [OTHER], 10) == [10]
    assert set(await index.search("ZX-4471B", [AGENT, SOURCE], 10)) == {1, 11}
    assert await index.search("ZX-4471B", ["a_unknown"], 10) == []


async def test_owner_ids_that_share_a_prefix_stay_apart(tmp_path: Path) -> None:
    async with await KeywordIndex.open(tmp_path / "k.sqlite3") as index:
        await index.add([1, 2, 3], ["a_1", "a_1_x", "a 1"], ["", "", ""],
                        ["apple", "apple", "apple"])
        assert await index.search("apple", ["a_1"], 10) == [1]
        assert await index.search("apple", ["a_1_x"], 10) == [2]
        assert await index.search("apple", ["a 1"], 10) == [3]


async def test_delete_by_owner_ids_and_doc(index: KeywordIndex) -> None:
    await index.add([10], [OTHER], ["manual.pdf"], ["pump of another agent"])
    assert await index.delete(AGENT, doc="manual.pdf") == 3
    assert await index.search("pump", [AGENT], 10) == [4]
    assert await index.delete(AGENT, ids=[4, 10]) == 1  # 10 is not this owner's
    assert await index.count([AGENT]) == 0
    assert await index.search("pump", [OTHER], 10) == [10]
    assert await index.delete(OTHER, ids=[]) == 0
    assert await index.delete(OTHER) == 1
    assert await index.count() == 0


async def test_adding_an_id_again_replaces_it(index: KeywordIndex) -> None:
    await index.add([1], [AGENT], ["manual.pdf"], ["now about invoices only"])
    assert await index.count() == len(TEXTS)
    assert 1 not in await index.search("ZX-4471B", [AGENT], 10)
    assert set(await index.search("invoices", [AGENT], 10)) == {1, 3}


async def test_add_checks_lengths(index: KeywordIndex) -> None:
    with pytest.raises(ValueError, match="same length"):
        await index.add([1, 2], [AGENT], ["d"], ["t"])


async def test_contents_and_synced_flag_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "keywords.sqlite3"
    async with await KeywordIndex.open(path) as index:
        assert not await index.is_synced()
        await index.add([7], [AGENT], ["a.md"], ["persistent walrus"])
        await index.set_synced(True)
    async with await KeywordIndex.open(path) as index:
        assert await index.is_synced()
        assert await index.search("walrus", [AGENT], 5) == [7]
        await index.clear()
        assert await index.count() == 0


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keywords.sqlite3"
    async with await KeywordIndex.open(path):
        pass
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageError, match="newer than this membot"):
        await KeywordIndex.open(path)


async def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "keywords.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot open the keyword index"):
        await KeywordIndex.open(path)


def test_fts_query_quotes_every_word_once_without_stop_words() -> None:
    assert fts_query('The Pump "ZX-4471B" pump; NEAR(') == '"pump" OR "zx" OR "4471b" OR "near"'
    assert fts_query("The Who") == '"the" OR "who"'  # nothing else: kept
    assert fts_query(" -- ") == ""


async def test_stop_words_alone_do_not_make_a_match(index: KeywordIndex) -> None:
    assert await index.search("when are the invoices of the month paid", [AGENT], 10) == [3]
