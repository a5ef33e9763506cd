"""Resolve each question's anchor phrase to its page and write eval/questions.jsonl.

The questions are paraphrases written by hand; the anchor is a verbatim phrase of
the passage that answers them, used only to find (and later re-check) the page.
Run from the repository root: ``python -m eval.build_questions QUESTIONS.py``.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

from agent_core.domain import UploadedFile
from agent_core.ingest.loaders import load_document

HERE = Path(__file__).resolve().parent


def page_texts(pdf: str) -> list[str]:
    """Whitespace-normalised text of each page of an evaluation document."""
    data = (HERE / "documents" / pdf).read_bytes()
    doc = load_document(UploadedFile(pdf, data), max_bytes=10**8)
    return [" ".join(p.text.split()) for p in doc.pages]


def find_page(pages: list[str], anchor: str) -> int:
    """The 1-based page holding ``anchor`` (the first one if it recurs)."""
    norm = " ".join(anchor.split()).lower()
    hits = [i + 1 for i, text in enumerate(pages) if norm in text.lower()]
    if not hits:
        raise SystemExit(f"anchor not found: {anchor!r}")
    return hits[0]


def main(path: str) -> None:
    """Write questions.jsonl from a Python file defining ``Q = [(doc, question, anchor)]``."""
    questions = runpy.run_path(path)["Q"]
    cache: dict[str, list[str]] = {}
    with (HERE / "questions.jsonl").open("w", encoding="utf-8") as out:
        for doc, question, anchor in questions:
            pages = cache.setdefault(doc, page_texts(doc))
            row = {"question": question, "doc": doc, "page": find_page(pages, anchor),
                   "anchor": anchor}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(questions)} questions written")


if __name__ == "__main__":
    main(sys.argv[1])
