"""Document ingestion: loaders, cleaning, chunking and the ingest pipeline."""

from __future__ import annotations

from agent_core.ingest.chunking import Chunk, Chunker
from agent_core.ingest.loaders import Document, Page, load_document, open_document

__all__ = ["Chunk", "Chunker", "Document", "Page", "load_document", "open_document"]
