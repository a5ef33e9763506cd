"""Split pages into passages of about ``chunk_tokens`` tokens.

Passages never cross a page, so each one carries exactly one page number and its
file name. Inside a page, text is cut at paragraph boundaries when that keeps the
passage at least half full, otherwise at sentence boundaries; a sentence longer
than a passage is cut between words. Consecutive passages share up to
``overlap`` tokens of whole sentences, so a fact cut at a boundary is still found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent_core.ingest.loaders import Page
from agent_core.ingest.text_cleaning import clean_text
from agent_core.ingest.tokens import TokenCounter, count_tokens

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]\u201d]*\s+(?=[\"'(\[\u201c]?[A-Z0-9])")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage: its text, file name, page number, index in the file and size."""

    text: str
    doc: str
    page: int
    index: int
    tokens: int


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    tokens: int
    starts_paragraph: bool


class Chunker:
    """Cuts cleaned page text into token-bounded passages.

    Args:
        chunk_tokens: target (and maximum) size of a passage, in tokens.
        overlap: tokens of whole sentences repeated at the start of the next passage.
        counter: token counter; defaults to the local model's tokenizer.
    """

    def __init__(self, chunk_tokens: int = 300, overlap: int = 40,
                 counter: TokenCounter | None = None) -> None:
        if chunk_tokens < 16:
            raise ValueError(f"chunk_tokens must be at least 16, got {chunk_tokens}")
        if not 0 <= overlap < chunk_tokens // 2:
            raise ValueError(f"overlap must be in [0, {chunk_tokens // 2}), got {overlap}")
        self.chunk_tokens = chunk_tokens
        self.overlap = overlap
        self._count = counter or count_tokens

    def chunk_pages(self, doc: str, pages: Iterable[Page], first_index: int = 0) -> list[Chunk]:
        """Passages of these pages, numbered from ``first_index``."""
        chunks: list[Chunk] = []
        for page in pages:
            for text, tokens in self.chunk_text(page.text):
                chunks.append(Chunk(text, doc, page.number, first_index + len(chunks), tokens))
        return chunks

    def chunk_text(self, text: str) -> list[tuple[str, int]]:
        """``(passage, tokens)`` pairs for one page of raw text."""
        units = self._units(clean_text(text))
        return [(_join(group), sum(u.tokens for u in group)) for group in self._pack(units)]

    def _units(self, text: str) -> list[_Unit]:
        pieces: list[tuple[str, bool]] = []
        for paragraph in text.split("\n\n"):
            sentences = [s for s in _SENTENCE_BREAK.split(paragraph) if s.strip()]
            pieces.extend((s.strip(), i == 0) for i, s in enumerate(sentences))
        counts = self._count([p for p, _ in pieces])
        units: list[_Unit] = []
        for (piece, starts), tokens in zip(pieces, counts, strict=True):
            if tokens <= self.chunk_tokens:
                units.append(_Unit(piece, tokens, starts))
            else:
                units.extend(self._split_words(piece, starts))
        return units

    def _split_words(self, sentence: str, starts: bool) -> list[_Unit]:
        """Cut an over-long sentence between words into passage-sized units."""
        words = sentence.split()
        counts = self._count(words)
        units: list[_Unit] = []
        current: list[str] = []
        size = 0
        for word, tokens in zip(words, counts, strict=True):
            if current and size + tokens > self.chunk_tokens:
                units.append(_Unit(" ".join(current), size, starts and not units))
                current, size = [], 0
            current.append(word)
            size += tokens
        if current:
            units.append(_Unit(" ".join(current), size, starts and not units))
        return units

    def _pack(self, units: Sequence[_Unit]) -> list[list[_Unit]]:
        """Group units into passages of at most ``chunk_tokens`` tokens."""
        groups: list[list[_Unit]] = []
        current: list[_Unit] = []
        carried = 0  # leading units of ``current`` repeated from the previous passage
        for unit in units:
            while current[carried:] and _size(current) + unit.tokens > self.chunk_tokens:
                cut = self._cut_point(current, carried)
                groups.append(current[:cut])
                tail = self._overlap_tail(current[:cut])
                rest = current[cut:]
                while tail and _size(tail) + _size(rest) + unit.tokens > self.chunk_tokens:
                    tail = tail[1:]
                current, carried = tail + rest, len(tail)
            current.append(unit)
        if current[carried:]:
            groups.append(current)
        return groups

    def _cut_point(self, units: Sequence[_Unit], carried: int) -> int:
        """Where to end the passage: the last paragraph start past half the target."""
        total = 0
        best = len(units)
        for i, unit in enumerate(units):
            if i > carried and unit.starts_paragraph and total >= self.chunk_tokens // 2:
                best = i
            total += unit.tokens
        return best

    def _overlap_tail(self, units: Sequence[_Unit]) -> list[_Unit]:
        """The last whole sentences of a passage, up to ``overlap`` tokens."""
        tail: list[_Unit] = []
        size = 0
        for unit in reversed(units[1:]):
            if size + unit.tokens > self.overlap:
                break
            tail.insert(0, unit)
            size += unit.tokens
        return tail


def _size(units: Sequence[_Unit]) -> int:
    return sum(u.tokens for u in units)


def _join(units: Sequence[_Unit]) -> str:
    """Sentences joined by spaces, paragraphs by a blank line."""
    out: list[str] = []
    for i, unit in enumerate(units):
        if i:
            out.append("\n\n" if unit.starts_paragraph else " ")
        out.append(unit.text)
    return "".join(out)
