"""Shared fixtures of the ingest tests."""

from __future__ import annotations

import pytest

from agent_core.domain import UploadedFile
from tests.ingest.docs import fixture_file


@pytest.fixture
def report_pdf() -> UploadedFile:
    """The 4-page fpdf2 report."""
    return fixture_file("report.pdf")


@pytest.fixture
def guide_pdf() -> UploadedFile:
    """The 2-page reportlab guide."""
    return fixture_file("guide.pdf")
