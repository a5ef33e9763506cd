"""Document loaders: PDF, plain text, Markdown and HTML, chosen by content.

The kind of a file is decided from its bytes first (``%PDF-`` magic, known binary
signatures, byte-order marks, HTML markup) and its extension second, so a PDF named
``notes.txt`` is still read as a PDF and a PNG named ``paper.pdf`` is refused.

Text must be UTF-8 (with or without BOM) or UTF-16 with a BOM. Other encodings are
refused with reason ``encoding`` rather than guessed: a silent Latin-1 fallback
would store mojibake for every non-Western file and make it unsearchable.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath
from typing import Literal

from agent_core.backends.pdf_reader import PdfPages
from agent_core.domain import UploadedFile
from agent_core.errors import IngestError

_log = logging.getLogger(__name__)

DocumentKind = Literal["pdf", "text", "markdown", "html"]

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (or Word/Excel/EPUB document)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xd0\xcf\x11\xe0", "legacy Office document"),
    (b"{\\rtf", "RTF document"),
    (b"\x7fELF", "executable"),
    (b"MZ", "executable"),
)
_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
_HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
_HTML_SNIFF = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)
_MD_TITLE = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)
SUPPORTED_HINT = "Supported: PDF, plain text, Markdown, HTML."


@dataclass(frozen=True, slots=True)
class Page:
    """The raw text of one page (1-based number; text files have one page per form feed)."""

    number: int
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed document: its kind, title and pages."""

    name: str
    kind: DocumentKind
    title: str | None
    pages: tuple[Page, ...]


class OpenedDocument:
    """A validated document whose pages are produced lazily (PDFs parse page by page)."""

    def __init__(self, name: str, kind: DocumentKind, title: str | None, page_count: int,
                 pages: Iterator[Page]) -> None:
        self.name = name
        self.kind = kind
        self.title = title
        self.page_count = page_count
        self._pages = pages

    def iter_pages(self) -> Iterator[Page]:
        """The pages in order; can be consumed once."""
        return self._pages


def open_document(file: UploadedFile, *, max_bytes: int) -> OpenedDocument:
    """Check and open a file for reading, choosing the loader from its content.

    Raises:
        IngestError: reasons ``empty``, ``too_large``, ``unsupported``, ``encoding``,
            ``encrypted`` or ``corrupt``.
    """
    name, data = file.name, file.data
    _check_size(name, data, max_bytes)
    suffix = PurePath(name).suffix.lower()
    if _is_pdf(data):
        pdf = PdfPages(data, name)
        pages = (Page(n, t) for n, t in pdf.iter_texts())
        return OpenedDocument(name, "pdf", pdf.title, pdf.page_count, pages)
    if suffix == ".pdf":
        raise IngestError(f"{name} is named .pdf but is not a PDF (no %PDF- header)",
                          reason="corrupt", filename=name)
    _refuse_binary(name, data)
    text = decode_text(name, data)
    if not text.strip():
        raise IngestError(f"{name} contains only whitespace", reason="empty", filename=name)
    if suffix in _HTML_SUFFIXES or _HTML_SNIFF.match(data[:2048].lstrip(codecs.BOM_UTF8)):
        title, body = html_to_text(text)
        return _text_document(name, "html", title, body)
    if suffix in _MARKDOWN_SUFFIXES:
        match = _MD_TITLE.search(text)
        return _text_document(name, "markdown", match.group(1) if match else None, text)
    return _text_document(name, "text", None, text)


def load_document(file: UploadedFile, *, max_bytes: int) -> Document:
    """Read a whole document into memory.

    Raises:
        IngestError: as :func:`open_document`, plus ``no_text`` when no page has any
            extractable text (typically a scanned PDF).
    """
    opened = open_document(file, max_bytes=max_bytes)
    pages = tuple(opened.iter_pages())
    if not any(p.text.strip() for p in pages):
        raise no_text_error(file.name, opened.kind)
    return Document(file.name, opened.kind, opened.title, pages)


def no_text_error(name: str, kind: DocumentKind) -> IngestError:
    """The error for a document without extractable text."""
    if kind == "pdf":
        message = f"{name} has no extractable text (scanned images?); run OCR on it first"
    else:
        message = f"{name} has no text"
    return IngestError(message, reason="no_text", filename=name)


def decode_text(name: str, data: bytes) -> str:
    """Decode UTF-8 (BOM optional) or BOM-marked UTF-16; refuse anything else.

    Raises:
        IngestError: reason ``encoding`` (or ``unsupported`` for binary data).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _encoding_error(name, "invalid UTF-16") from exc
    if b"\x00" in data[:8192]:
        raise IngestError(f"{name} looks like a binary file. {SUPPORTED_HINT}",
                          reason="unsupported", filename=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _encoding_error(name, f"invalid byte at offset {exc.start}") from exc


def _encoding_error(name: str, detail: str) -> IngestError:
    return IngestError(f"{name} is not UTF-8 text ({detail}); save it as UTF-8 and retry",
                       reason="encoding", filename=name)


def _check_size(name: str, data: bytes, max_bytes: int) -> None:
    if not data:
        raise IngestError(f"{name} is empty", reason="empty", filename=name)
    if len(data) > max_bytes:
        raise IngestError(
            f"{name} is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit",
            reason="too_large", filename=name)


def _is_pdf(data: bytes) -> bool:
    # The PDF header may follow a little junk; readers accept it within the first 1 KB.
    return b"%PDF-" in data[:1024]


def _refuse_binary(name: str, data: bytes) -> None:
    for magic, label in _BINARY_SIGNATURES:
        if data.startswith(magic):
            raise IngestError(f"{name} is a {label}, which membot cannot read. {SUPPORTED_HINT}",
                              reason="unsupported", filename=name)


def _text_document(name: str, kind: DocumentKind, title: str | None,
                   text: str) -> OpenedDocument:
    parts = text.replace("\r\n", "\n").split("\f")
    pages = [Page(i + 1, part) for i, part in enumerate(parts)]
    return OpenedDocument(name, kind, title, len(pages), iter(pages))


class _TextExtractor(HTMLParser):
    """Collects visible text; block elements become paragraph breaks."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK = frozenset({
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
        "table", "section", "article", "header", "footer", "blockquote", "pre", "hr",
        "dt", "dd", "dl", "main", "nav", "aside", "figure", "figcaption", "title",
    })

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._skip_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip_depth += 1
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif not self._skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str | None, str]:
    """``(title, visible text)`` of an HTML page; paragraphs separated by blank lines."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    title = " ".join("".join(parser.title_parts).split()) or None
    blocks = (" ".join(block.split()) for block in "".join(parser.parts).split("\n\n"))
    return title, "\n\n".join(b for b in blocks if b)
