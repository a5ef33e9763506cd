"""Turning Discord attachments into engine sources, with a progress message edited in place."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import discord

from adapters.commands import error_text
from adapters.discord_bot.replies import Status
from agent_core.domain import LoadProgress, LoadReport, UploadedFile

if TYPE_CHECKING:
    from agent_core.engine import Engine

_log = logging.getLogger(__name__)

SUPPORTED_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
}
"""File extensions that can become sources, with their content types."""

_STAGE = {"parsing": "reading", "embedding": "embedding", "storing": "storing", "done": "done"}


@dataclass(frozen=True, slots=True)
class Refusal:
    """An attachment that will not be ingested, and the reason shown to the user."""

    filename: str
    reason: str


def is_supported(attachment: discord.Attachment) -> bool:
    """Whether the attachment's type can become a source."""
    return PurePosixPath(attachment.filename.lower()).suffix in SUPPORTED_TYPES


def check_attachment(attachment: discord.Attachment, max_bytes: int) -> Refusal | None:
    """Why ``attachment`` cannot be ingested, or ``None`` if it can."""
    if not is_supported(attachment):
        kinds = ", ".join(sorted(SUPPORTED_TYPES))
        return Refusal(attachment.filename, f"unsupported file type (I can read {kinds})")
    if attachment.size > max_bytes:
        return Refusal(
            attachment.filename,
            f"too large ({_mib(attachment.size)}; the limit is {_mib(max_bytes)})",
        )
    return None


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def source_name_for(filename: str) -> str:
    """A source name derived from a file name: ``"My Paper (v2).pdf"`` -> ``"my-paper-v2"``."""
    stem = PurePosixPath(filename).stem.lower()
    name = re.sub(r"[^a-z0-9_.-]+", "-", stem).strip("-.")
    return name[:64] or "upload"


async def download(attachment: discord.Attachment) -> UploadedFile:
    """Fetch an attachment's bytes now (its URL expires)."""
    data = await attachment.read()
    suffix = PurePosixPath(attachment.filename.lower()).suffix
    content_type = SUPPORTED_TYPES.get(suffix, attachment.content_type)
    return UploadedFile(name=attachment.filename, data=data, content_type=content_type)


def refusal_text(refusals: list[Refusal]) -> str:
    """One line per refused attachment."""
    return "\n".join(f"⚠️ I can't load **{r.filename}**: {r.reason}." for r in refusals)


def progress_text(name: str, p: LoadProgress) -> str:
    """The status line for a load in progress."""
    where = f"file {p.files_done + 1}/{p.files_total}" if p.files_total > 1 else p.file
    counts = f"{p.pages} page{'s' if p.pages != 1 else ''}, {p.passages} passages"
    return f"⏳ Loading `{name}` ({where}): {_STAGE.get(p.stage, p.stage)}… {counts}"


def report_text(report: LoadReport) -> str:
    """The final summary of a load, with the next step (or why nothing was loaded)."""
    if not report.files_loaded and not report.files_unchanged:
        reasons = "; ".join(s.message for s in report.skipped) or "no text found"
        return f"⚠️ Nothing was loaded into `{report.source}`: {reasons}."
    return f"✅ {report.summary()}.\nUse `/attach {report.source}` to let your agent search it."


async def load_files(
    engine: Engine,
    workspace: str,
    name: str,
    files: list[UploadedFile],
    status: Status,
) -> LoadReport | None:
    """Load ``files`` into source ``name``, reporting progress on ``status``.

    Returns the report, or ``None`` if the load failed (the failure is shown on ``status``).
    """
    await status.update(f"⏳ Loading `{name}` ({len(files)} file{'s' if len(files) != 1 else ''})…")

    async def on_progress(progress: LoadProgress) -> None:
        await status.update(progress_text(name, progress))

    try:
        report = await engine.load_source(workspace, name, files, progress=on_progress)
    except Exception as exc:
        _log.warning(
            "loading %s into %s/%s failed", [f.name for f in files], workspace, name, exc_info=True
        )
        await status.update(f"⚠️ {error_text(exc)}", final=True)
        return None
    await status.update(report_text(report), final=True)
    return report
