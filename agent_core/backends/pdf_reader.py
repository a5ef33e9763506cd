"""PDF reading through pypdf: page texts, page numbers and the metadata title.

This is the only module of the ingest package that imports pypdf.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pypdf
from pypdf.errors import FileNotDecryptedError, PyPdfError

from agent_core.errors import IngestError

_log = logging.getLogger(__name__)


class PdfPages:
    """An opened PDF whose pages are read one at a time (so parsing can stream).

    Raises:
        IngestError: ``encrypted`` (a password is needed) or ``corrupt`` (unreadable).
    """

    def __init__(self, data: bytes, filename: str) -> None:
        self.filename = filename
        try:
            self._reader = pypdf.PdfReader(io.BytesIO(data))
            if self._reader.is_encrypted and not self._reader.decrypt(""):
                raise IngestError(
                    f"{filename} is password-protected; upload an unencrypted copy",
                    reason="encrypted", filename=filename)
            self.page_count = len(self._reader.pages)
            self.title = _metadata_title(self._reader)
        except IngestError:
            raise
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            raise IngestError(
                f"{filename} is not a readable PDF (damaged or truncated: {exc})",
                reason="corrupt", filename=filename) from exc
        if self.page_count == 0:
            raise IngestError(f"{filename} is a PDF without pages",
                              reason="corrupt", filename=filename)

    def iter_texts(self) -> Iterator[tuple[int, str]]:
        """Yield ``(page_number, text)`` for every page, numbered from 1.

        A page whose content stream cannot be decoded yields an empty text (and a
        warning in the log) instead of failing the whole document.
        """
        for index in range(self.page_count):
            yield index + 1, self._page_text(index)

    def _page_text(self, index: int) -> str:
        try:
            return self._reader.pages[index].extract_text() or ""
        except FileNotDecryptedError as exc:
            raise IngestError(f"{self.filename} is password-protected",
                              reason="encrypted", filename=self.filename) from exc
        except Exception as exc:  # pypdf raises many types on damaged content streams
            _log.warning("%s: page %d could not be read: %s", self.filename, index + 1, exc)
            return ""


def _metadata_title(reader: pypdf.PdfReader) -> str | None:
    """The document information title, if the PDF has a non-empty one."""
    try:
        meta = reader.metadata
        title = meta.title if meta is not None else None
    except Exception:  # a damaged info dictionary must not fail the document
        return None
    return str(title).strip() or None if title else None
