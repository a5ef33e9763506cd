"""Splitting long replies into Discord messages without breaking Markdown code fences."""

from __future__ import annotations

import re
from dataclasses import dataclass

DISCORD_MESSAGE_LIMIT = 2000
"""Discord's maximum message length, in characters."""

_FENCE = re.compile(r"^\s*(```+|~~~+)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_CLOSE = "```"


@dataclass(frozen=True, slots=True)
class _Segment:
    """A paragraph or a whole fenced code block, and the separator that preceded it."""

    text: str
    sep: str
    fence: str | None = None  # the opening fence line of a code block


def split_message(text: str, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters.

    Chunks end on paragraph boundaries when possible, then on line, sentence and word
    boundaries; a code block that must be split is closed at the end of one chunk and
    reopened (same language) at the start of the next, so every chunk renders alone.

    Args:
        text: the Markdown text to send.
        limit: the maximum chunk length (Discord: 2000).

    Returns:
        The chunks in order; empty if ``text`` is blank.

    Raises:
        ValueError: if ``limit`` is too small to hold a code fence and some text.
    """
    if limit < 20:
        raise ValueError(f"limit must be at least 20 characters, not {limit}")
    pieces: list[tuple[str, str]] = []
    for seg in _segments(text.strip()):
        parts = _split_code(seg, limit) if seg.fence is not None else _split_prose(seg.text, limit)
        for i, part in enumerate(parts):
            pieces.append((seg.sep if i == 0 else "\n", part))
    return _pack(pieces, limit)


def _pack(pieces: list[tuple[str, str]], limit: int) -> list[str]:
    """Greedily join (separator, piece) pairs into chunks no longer than ``limit``."""
    chunks: list[str] = []
    current = ""
    for sep, piece in pieces:
        if current and len(current) + len(sep) + len(piece) <= limit:
            current += sep + piece
            continue
        if current.strip():
            chunks.append(current.rstrip())
        current = piece
    if current.strip():
        chunks.append(current.rstrip())
    return chunks


def _segments(text: str) -> list[_Segment]:
    """Cut text into paragraphs and fenced code blocks."""
    segments: list[_Segment] = []
    lines: list[str] = []
    fence: str | None = None
    sep = ""

    def flush(next_sep: str) -> None:
        nonlocal lines, sep
        if lines or fence is not None:
            segments.append(_Segment("\n".join(lines), sep, fence))
            sep = next_sep
        lines = []

    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            flush("\n")
            fence = line.strip()
        elif fence is not None and _closes(fence, line):
            flush("\n")
            fence = None
        elif fence is None and not line.strip():
            flush("\n\n")
        else:
            lines.append(line)
    flush("")
    return segments


def _closes(fence: str, line: str) -> bool:
    """Whether ``line`` closes a code block opened by ``fence``."""
    marker = _FENCE.match(fence)
    stripped = line.strip()
    assert marker is not None
    opening = marker.group(1)
    return stripped.startswith(opening) and set(stripped) == {opening[0]}


def _split_code(seg: _Segment, limit: int) -> list[str]:
    """A code block as one or more fenced blocks, each within ``limit``."""
    assert seg.fence is not None
    opening = seg.fence
    if len(opening) > limit // 2:
        opening = opening[:3]
    budget = limit - len(opening) - len(_CLOSE) - 2
    lines: list[str] = []
    for line in seg.text.split("\n"):
        lines.extend(_hard_cut(line, budget) if len(line) > budget else [line])
    blocks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + 1 + len(line) > budget:
            blocks.append("\n".join(current))
            current, size = [], 0
        size += len(line) + (1 if current else 0)
        current.append(line)
    if current or not blocks:
        blocks.append("\n".join(current))
    return [f"{opening}\n{body}\n{_CLOSE}" for body in blocks]


def _split_prose(text: str, limit: int) -> list[str]:
    """A paragraph as pieces within ``limit``: by lines, then sentences, then words."""
    if len(text) <= limit:
        return [text]
    pieces: list[tuple[str, str]] = []
    for line in text.split("\n"):
        for i, part in enumerate(_split_line(line, limit)):
            pieces.append(("\n" if i == 0 else " ", part))
    if pieces:
        pieces[0] = ("", pieces[0][1])
    return _pack(pieces, limit)


def _split_line(line: str, limit: int) -> list[str]:
    """One line as sentences/words/cuts, each within ``limit``."""
    if len(line) <= limit:
        return [line]
    parts: list[str] = []
    for sentence in _SENTENCE_END.split(line):
        if len(sentence) <= limit:
            parts.append(sentence)
            continue
        for word in sentence.split(" "):
            parts.extend(_hard_cut(word, limit) if len(word) > limit else [word])
    return _pack([(" ", p) for p in parts], limit)


def _hard_cut(text: str, size: int) -> list[str]:
    """Cut ``text`` every ``size`` characters (last resort)."""
    return [text[i : i + size] for i in range(0, len(text), size)]
