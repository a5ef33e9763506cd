"""Logging setup (the only place that configures logging)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _LiteNoise(logging.Filter):
    """Drops Milvus Lite's log of an RPC it does not implement (pymilvus probes it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage() and not (
            record.exc_info and "Method not implemented" in str(record.exc_info[1]))


def setup_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Send logs to stderr, plain or as JSON lines; quiet the chattiest libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    handler.addFilter(_LiteNoise())
    for noisy in ("httpx", "httpx2", "openai", "discord.gateway", "sentence_transformers",
                  "transformers", "pymilvus", "milvus_lite", "urllib3", "faiss",
                  "faiss.loader"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # voice support warnings
