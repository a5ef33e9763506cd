"""Files shared in Slack: checked, downloaded with the bot token, named as sources."""

from __future__ import annotations

import logging
import re
from pathlib import PurePath
from typing import Any

import aiohttp

from agent_core.domain import UploadedFile
from agent_core.errors import IngestError

_log = logging.getLogger(__name__)

READABLE_SUFFIXES = frozenset(
    {".pdf", ".txt", ".text", ".md", ".markdown", ".rst", ".html", ".htm", ".csv", ".log"}
)
_READABLE_TYPES = frozenset(
    {"pdf", "text", "markdown", "post", "html", "csv", "plain", "rst", "log"}
)
_HTML_NAMES = (".html", ".htm")
_CHUNK = 64 * 1024
MAX_NAME_CHARS = 64

MISSING_SCOPE_HINT = (
    "Slack sent its login page instead of the file, which means the app lacks the "
    "`files:read` scope: add it under OAuth & Permissions, reinstall the app, and share "
    "the file again."
)


def source_name(filename: str) -> str:
    """The source a shared file goes into: its name without extension, as a short slug."""
    stem = PurePath(filename).stem or filename
    slug = re.sub(r"[^\w.-]+", "-", stem.lower()).strip("-.")
    return slug[:MAX_NAME_CHARS] or "upload"


def check_file(file: dict[str, Any], max_bytes: int) -> str:
    """Refuse a shared file before downloading it; returns its name.

    Raises:
        IngestError: ``unsupported`` (image, video, ...), ``too_large`` or ``unavailable``.
    """
    name = str(file.get("name") or file.get("title") or file.get("id") or "file")
    suffix = PurePath(name).suffix.lower()
    filetype = str(file.get("filetype") or "")
    mimetype = str(file.get("mimetype") or "")
    readable = (
        suffix in READABLE_SUFFIXES
        or filetype in _READABLE_TYPES
        or mimetype.startswith("text/")
        or mimetype == "application/pdf"
    )
    if not readable:
        raise IngestError(
            f"{name} is not a document I can read (PDF, text, Markdown or HTML).",
            reason="unsupported",
            filename=name,
        )
    size = int(file.get("size") or 0)
    if size > max_bytes:
        raise IngestError(
            f"{name} is {_mib(size)}; the limit is {_mib(max_bytes)}.",
            reason="too_large",
            filename=name,
        )
    if not file.get("url_private_download") or file.get("mode") == "tombstone":
        raise IngestError(f"{name} cannot be downloaded.", reason="unavailable", filename=name)
    return name


async def download(
    session: aiohttp.ClientSession, file: dict[str, Any], token: str, max_bytes: int
) -> UploadedFile:
    """Download a shared file from ``url_private_download`` with the bot token.

    Args:
        session: the HTTP session to use.
        file: the file object of the ``file_share`` message.
        token: the bot token (``files:read`` scope).
        max_bytes: the size limit, enforced while reading.

    Returns:
        The file's bytes with its name and content type.

    Raises:
        IngestError: ``unsupported``/``too_large``/``unavailable`` (see ``check_file``),
            ``missing_scope`` when Slack answers with its HTML login page, or
            ``download_failed``.
    """
    name = check_file(file, max_bytes)
    url = str(file["url_private_download"])
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with session.get(url, headers=headers) as resp:
            if resp.status != 200:
                raise IngestError(
                    f"Slack refused to send {name} (HTTP {resp.status}).",
                    reason="download_failed",
                    filename=name,
                )
            content_type = resp.content_type or ""
            if content_type == "text/html" and not name.lower().endswith(_HTML_NAMES):
                raise IngestError(MISSING_SCOPE_HINT, reason="missing_scope", filename=name)
            data = await _read_limited(resp, name, max_bytes)
    except aiohttp.ClientError as exc:
        _log.warning("download of %s failed: %s", name, exc)
        raise IngestError(
            f"Could not download {name} from Slack.", reason="download_failed", filename=name
        ) from exc
    return UploadedFile(name, data, content_type or None)


async def _read_limited(resp: aiohttp.ClientResponse, name: str, max_bytes: int) -> bytes:
    data = bytearray()
    async for block in resp.content.iter_chunked(_CHUNK):
        data += block
        if len(data) > max_bytes:
            raise IngestError(
                f"{name} is larger than the limit of {_mib(max_bytes)}.",
                reason="too_large",
                filename=name,
            )
    return bytes(data)


def _mib(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"
