"""Clean the artefacts of extracted text: ligatures, hyphenation, broken whitespace."""

from __future__ import annotations

import re
import statistics

_LIGATURES = str.maketrans({
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st", "\u00a0": " ", "\u2002": " ", "\u2003": " ",
    "\u2009": " ", "\u202f": " ", "\t": " ", "\r": "\n", "\u2028": "\n", "\u2029": "\n\n",
})
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# "exam-\nple" -> "example" (a lower-case letter continues the word on the next line).
_HYPHENATED = re.compile(r"(\w)-[ ]*\n[ ]*([a-z])")
_SPACES = re.compile(r"[ ]{2,}")
_BLANK_LINES = re.compile(r"\n[ ]*\n[\s]*")
_SENTENCE_END = (".", "!", "?", ":", "\u201d", '"')


def clean_text(text: str) -> str:
    """Normalise extracted text into paragraphs separated by one blank line.

    Ligatures become letters, soft hyphens and zero-width characters vanish, words
    hyphenated across a line break are joined, runs of spaces collapse, and the hard
    line breaks of PDF text are unwrapped into paragraphs (a short line ending a
    sentence ends its paragraph).
    """
    text = _INVISIBLE.sub("", text.translate(_LIGATURES))
    text = _HYPHENATED.sub(r"\1\2", text)
    text = _SPACES.sub(" ", text)
    paragraphs: list[str] = []
    for block in _BLANK_LINES.split(text):
        paragraphs.extend(_unwrap(block))
    return "\n\n".join(p for p in paragraphs if p)


def _unwrap(block: str) -> list[str]:
    """Join the wrapped lines of a block; split it where a short line ends a sentence."""
    lines = [line.strip() for line in block.split("\n") if line.strip()]
    if len(lines) < 2:
        return lines
    width = statistics.median(len(line) for line in lines)
    paragraphs: list[list[str]] = [[]]
    for i, line in enumerate(lines):
        paragraphs[-1].append(line)
        last = i == len(lines) - 1
        if not last and _ends_paragraph(line, lines[i + 1], width):
            paragraphs.append([])
    return [" ".join(p) for p in paragraphs if p]


def _ends_paragraph(line: str, following: str, width: float) -> bool:
    """A short line that ends a sentence, or a short heading before a capitalised line."""
    if len(line) >= 0.7 * width:
        return False
    if line.endswith(_SENTENCE_END):
        return True
    heading = len(line) < 0.5 * width and not line.endswith((",", ";", "-", "and", "or"))
    return heading and following[:1].isupper()
