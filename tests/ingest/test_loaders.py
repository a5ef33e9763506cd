"""Loaders: real PDFs from real writers, text kinds chosen by content, every bad input."""

from __future__ import annotations

import codecs

import pytest

from agent_core.domain import UploadedFile
from agent_core.errors import IngestError
from agent_core.ingest.loaders import Document, load_document
from tests.ingest.docs import fixture_file

MB = 1024 * 1024


def load(name: str, data: bytes, max_bytes: int = 25 * MB) -> Document:
    return load_document(UploadedFile(name, data), max_bytes=max_bytes)


def reason_of(name: str, data: bytes, max_bytes: int = 25 * MB) -> IngestError:
    with pytest.raises(IngestError) as info:
        load(name, data, max_bytes)
    assert info.value.filename == name
    assert name in info.value.user_message()
    return info.value


def test_fpdf2_report_pages_and_title(report_pdf: UploadedFile) -> None:
    doc = load_document(report_pdf, max_bytes=25 * MB)
    assert doc.kind == "pdf"
    assert doc.title == "Northern Harbour Annual Report"
    assert [p.number for p in doc.pages] == [1, 2, 3, 4]
    texts = [" ".join(p.text.split()) for p in doc.pages]
    assert "forty container ships" in texts[0]
    assert "six-week training" in texts[1]
    assert "settling basin" in texts[2]


def test_reportlab_guide_pages_and_title(guide_pdf: UploadedFile) -> None:
    doc = load_document(guide_pdf, max_bytes=25 * MB)
    assert doc.title == "Beekeeping Guide"
    assert len(doc.pages) == 2
    assert "sixty thousand bees" in doc.pages[0].text
    assert "capped" in doc.pages[1].text and "capped" not in doc.pages[0].text


def test_pdf_is_recognised_by_content_not_extension(report_pdf: UploadedFile) -> None:
    doc = load("report.txt", report_pdf.data)
    assert doc.kind == "pdf" and len(doc.pages) == 4


def test_encrypted_pdf() -> None:
    f = fixture_file("encrypted.pdf")
    assert reason_of(f.name, f.data).reason == "encrypted"


def test_truncated_pdf() -> None:
    f = fixture_file("truncated.pdf")
    assert reason_of(f.name, f.data).reason == "corrupt"


def test_scanned_pdf_has_no_text() -> None:
    f = fixture_file("scanned.pdf")
    err = reason_of(f.name, f.data)
    assert err.reason == "no_text"
    assert "OCR" in err.message


def test_pdf_name_without_pdf_content_is_corrupt() -> None:
    assert reason_of("paper.pdf", b"<html>not a pdf</html>").reason == "corrupt"


def test_empty_and_whitespace_files() -> None:
    assert reason_of("a.txt", b"").reason == "empty"
    assert reason_of("b.txt", b" \n\t\n").reason == "empty"


def test_size_limit(report_pdf: UploadedFile) -> None:
    err = reason_of("report.pdf", report_pdf.data, max_bytes=1000)
    assert err.reason == "too_large"
    assert "limit" in err.message


@pytest.mark.parametrize(("name", "data"), [
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
    ("report.docx", b"PK\x03\x04" + b"\x00" * 32),
    ("blob.bin", b"abc\x00\x01\x02def"),
])
def test_unsupported_binaries(name: str, data: bytes) -> None:
    err = reason_of(name, data)
    assert err.reason == "unsupported"
    assert "PDF" in err.message  # says what is supported


def test_non_utf8_text_is_refused_clearly() -> None:
    err = reason_of("latin1.txt", "café déjà vu".encode("latin-1"))
    assert err.reason == "encoding"
    assert "UTF-8" in err.message


def test_utf16_with_bom_and_utf8_bom_are_read() -> None:
    text = "Zürich, naïve café"
    assert load("u16.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le")).pages[0].text == text
    assert load("u8.txt", codecs.BOM_UTF8 + text.encode()).pages[0].text == text


def test_text_form_feeds_are_pages() -> None:
    doc = load("notes.txt", b"first page\fsecond page\fthird")
    assert doc.kind == "text"
    assert [(p.number, p.text) for p in doc.pages] == [
        (1, "first page"), (2, "second page"), (3, "third")]


def test_markdown_title_from_heading() -> None:
    doc = load("guide.md", b"Intro line\n\n# Field Guide #\n\nBody text.")
    assert doc.kind == "markdown"
    assert doc.title == "Field Guide"


def test_html_text_only_by_sniffing() -> None:
    html = (b"<!-- saved page --><!DOCTYPE html><html><head><title>Tide &amp; Times</title>"
            b"<style>p{color:red}</style><script>var x = 'hidden';</script></head><body>"
            b"<h1>Tides</h1><p>High tide at <b>six</b>.</p><p>Low tide at noon.</p></body></html>")
    doc = load("page.txt", html)
    assert doc.kind == "html"
    assert doc.title == "Tide & Times"
    assert doc.pages[0].text == "Tides\n\nHigh tide at six.\n\nLow tide at noon."
