"""Access to the committed fixture documents."""

from __future__ import annotations

from pathlib import Path

from agent_core.domain import UploadedFile

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs"


def fixture_file(name: str) -> UploadedFile:
    """A committed fixture document as an upload."""
    return UploadedFile(name, (DOCS / name).read_bytes())
