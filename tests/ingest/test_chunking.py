"""Chunking: sizes, paragraph and sentence boundaries, overlap, PDF artefact cleanup."""

from __future__ import annotations

import itertools

import pytest

from agent_core.ingest.chunking import Chunker
from agent_core.ingest.loaders import Page, load_document
from agent_core.ingest.text_cleaning import clean_text
from agent_core.ingest.tokens import approximate_counts, count_tokens
from tests.ingest.docs import fixture_file


def sentences(n: int, prefix: str = "Sentence") -> str:
    return " ".join(f"{prefix} number {i} talks about topic {i} in a few words." for i in range(n))


def test_clean_text_fixes_ligatures_hyphens_and_spaces() -> None:
    raw = ("The ﬁrst ﬂoor of the oﬃce.  Inter-\nnational   docu-\n  mentation.\u00ad"
           "Soft\u00adhyphen and no\u00a0break\u200bspace.")
    cleaned = clean_text(raw)
    assert cleaned == ("The first floor of the office. International documentation."
                       "Softhyphen and no breakspace.")


def test_clean_text_keeps_compound_words_before_capitals() -> None:
    assert clean_text("North-\nAmerica") == "North- America"


def test_clean_text_unwraps_lines_into_paragraphs() -> None:
    raw = ("Heading\nThis is a long wrapped line of text that goes to the margin and\n"
           "continues on the next line until the paragraph is done.\nShort end.\n"
           "A second paragraph starts with a capital letter and runs on to the\nmargin.")
    assert clean_text(raw).split("\n\n") == [
        "Heading",
        "This is a long wrapped line of text that goes to the margin and continues on the "
        "next line until the paragraph is done. Short end.",
        "A second paragraph starts with a capital letter and runs on to the margin.",
    ]


def test_token_counts_use_the_model_tokenizer() -> None:
    # WordPiece splits "tokenization" into pieces; a word count would say 1.
    assert count_tokens(["tokenization"])[0] >= 2
    assert count_tokens(["hello world"]) == [2]
    approx = approximate_counts([sentences(20)])[0]
    exact = count_tokens([sentences(20)])[0]
    assert abs(approx - exact) / exact < 0.15


def test_passages_respect_the_token_limit_and_cover_the_text() -> None:
    chunker = Chunker(chunk_tokens=100, overlap=20)
    text = sentences(60)
    chunks = chunker.chunk_text(text)
    assert len(chunks) > 5
    for passage, tokens in chunks:
        assert tokens <= 100
        assert count_tokens([passage])[0] <= 100 + 5  # joins may add a token or two
        assert passage.endswith(".")  # cut at sentence ends
    for i in range(60):
        assert any(f"topic {i} " in p for p, _ in chunks)


def test_overlap_repeats_whole_sentences() -> None:
    chunks = Chunker(chunk_tokens=60, overlap=20).chunk_text(sentences(20))
    for (first, _), (second, _) in itertools.pairwise(chunks):
        last_sentence = first.rsplit(". ", 1)[-1]
        assert second.startswith(last_sentence.rstrip(".")), (first, second)


def test_no_overlap_when_disabled() -> None:
    chunks = Chunker(chunk_tokens=60, overlap=0).chunk_text(sentences(20))
    joined = " ".join(p for p, _ in chunks)
    assert joined == sentences(20)


def test_paragraph_boundary_preferred() -> None:
    para_a = sentences(4, "Alpha")
    para_b = sentences(4, "Beta")
    assert sum(count_tokens([para_a, para_b])) > 70  # both do not fit in one passage
    chunks = Chunker(chunk_tokens=70, overlap=0).chunk_text(f"{para_a}\n\n{para_b}")
    assert [p for p, _ in chunks] == [para_a, para_b]


def test_overlong_sentence_is_cut_between_words() -> None:
    text = "word " * 500
    chunks = Chunker(chunk_tokens=50, overlap=10).chunk_text(text)
    assert all(tokens <= 50 for _, tokens in chunks)
    assert sum(p.count("word") for p, _ in chunks) >= 500


def test_pages_and_file_names_kept() -> None:
    pages = [Page(1, sentences(3, "One")), Page(2, ""), Page(3, sentences(3, "Three"))]
    chunks = Chunker(chunk_tokens=300, overlap=40).chunk_pages("notes.pdf", pages)
    assert [(c.doc, c.page, c.index) for c in chunks] == [("notes.pdf", 1, 0), ("notes.pdf", 3, 1)]


def test_real_pdf_passages() -> None:
    doc = load_document(fixture_file("report.pdf"), max_bytes=10**7)
    chunks = Chunker().chunk_pages(doc.name, doc.pages)
    assert [c.page for c in chunks] == [1, 2, 3, 4]
    assert "first-aid certificate" in chunks[1].text and "ﬁ" not in chunks[1].text
    assert "international agreement" in chunks[3].text
    assert "concluded that the documentation" in chunks[3].text


def test_bad_settings_rejected() -> None:
    with pytest.raises(ValueError, match="overlap"):
        Chunker(chunk_tokens=100, overlap=60)
    with pytest.raises(ValueError, match="chunk_tokens"):
        Chunker(chunk_tokens=4, overlap=0)
