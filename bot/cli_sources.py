"""`membot load`, `membot sources` and `membot search`: sources from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from agent_core.domain import LoadProgress, LoadReport, Passage, SourceInfo, UploadedFile

_log = logging.getLogger(__name__)
DEFAULT_WORKSPACE = "local"


class SourceEngine(Protocol):
    """The engine verbs these commands use."""

    async def load_source(self, workspace: str, name: str, files: Sequence[UploadedFile],
                          progress: Any = None) -> LoadReport: ...
    async def sources(self, workspace: str) -> list[SourceInfo]: ...
    async def delete_source(self, workspace: str, name: str) -> SourceInfo: ...
    async def search_sources(self, workspace: str, names: Sequence[str], query: str,
                             k: int = 5) -> list[Passage]: ...


def register(subparsers: Any) -> None:
    """Add the ``load``, ``sources`` and ``search`` subcommands."""
    load = subparsers.add_parser("load", help="load files or directories into a source")
    load.add_argument("--name", required=True, help="the source's name")
    load.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                      help="files or directories (read recursively)")
    _workspace(load)
    load.set_defaults(handler=run_load)
    sources = subparsers.add_parser("sources", help="list sources, or delete one")
    sources.add_argument("--delete", metavar="NAME", help="delete this source and its passages")
    _workspace(sources)
    sources.set_defaults(handler=run_sources)
    search = subparsers.add_parser("search", help="what an agent would retrieve from sources")
    search.add_argument("--source", action="append", required=True, metavar="NAME",
                        help="a source to search (repeat for several)")
    search.add_argument("-k", type=int, default=5, help="how many passages (default 5)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.add_argument("query", help="the query, or - to read one query per line from stdin")
    _workspace(search)
    search.set_defaults(handler=run_search)


def _workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", default=DEFAULT_WORKSPACE,
                        help=f"the workspace (default {DEFAULT_WORKSPACE!r}, the console's)")


def iter_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Every regular file under ``paths`` (directories recursively, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden:
                    yield child
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")


async def run_load(args: argparse.Namespace, engine: SourceEngine) -> int:
    """``membot load --name NAME PATH...``."""
    try:
        paths = list(iter_files(args.paths))
    except FileNotFoundError as exc:
        print(f"membot: {exc}", file=sys.stderr)
        return 2
    if not paths:
        print("membot: no files to load", file=sys.stderr)
        return 2
    files = await asyncio.to_thread(_read_all, paths)
    printer = ProgressPrinter(sys.stderr)
    report = await engine.load_source(args.workspace, args.name, files, printer)
    printer.finish()
    print(report.summary())
    return 0 if report.files_loaded or report.files_unchanged or not report.skipped else 1


def _read_all(paths: Sequence[Path]) -> list[UploadedFile]:
    return [UploadedFile(p.name, p.read_bytes()) for p in paths]


class ProgressPrinter:
    """Progress as one rewritten line on a terminal, or a line per file otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last_file = ""

    async def __call__(self, event: LoadProgress) -> None:
        """Show one progress event."""
        if event.stage == "done":
            return
        line = (f"[{event.files_done}/{event.files_total} files] {event.pages} pages, "
                f"{event.passages} passages  {event.stage} {event.file}")
        if self.tty:
            self.stream.write("\r\x1b[2K" + line[:150])
            self.stream.flush()
        elif event.stage == "storing" or event.file != self._last_file:
            self.stream.write(line + "\n")
        self._last_file = event.file

    def finish(self) -> None:
        """End the progress line."""
        if self.tty:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


async def run_sources(args: argparse.Namespace, engine: SourceEngine) -> int:
    """``membot sources [--delete NAME]``."""
    if args.delete:
        gone = await engine.delete_source(args.workspace, args.delete)
        print(f"Deleted source '{gone.name}' ({gone.passages} passages).")
        return 0
    sources = await engine.sources(args.workspace)
    if not sources:
        print(f"No sources in workspace '{args.workspace}'. Add one with: membot load --name "
              "NAME PATH")
        return 0
    width = max(len(s.name) for s in sources)
    for s in sources:
        print(f"{s.name:<{width}}  {s.files:>4} files  {s.passages:>7} passages  "
              f"{s.embedding_model}  {s.created_at:%Y-%m-%d %H:%M}")
    return 0


def passage_json(passage: Passage) -> dict[str, Any]:
    """A search hit as a JSON object."""
    score = None if passage.score is None else round(float(passage.score), 4)
    return {"text": passage.text, "source": passage.source_name, "doc": passage.doc,
            "page": passage.page, "chunk": passage.chunk, "score": score}


async def run_search(args: argparse.Namespace, engine: SourceEngine) -> int:
    """``membot search --source NAME [-k 5] [--json] QUERY|-``."""
    if args.k < 1:
        print("membot: -k must be at least 1", file=sys.stderr)
        return 2
    if args.query == "-":
        for line in sys.stdin:
            if query := line.strip():
                hits = await engine.search_sources(args.workspace, args.source, query, args.k)
                print(json.dumps([passage_json(p) for p in hits], ensure_ascii=False),
                      flush=True)
        return 0
    hits = await engine.search_sources(args.workspace, args.source, args.query, args.k)
    if args.json:
        print(json.dumps([passage_json(p) for p in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("No passages found.")
    for rank, p in enumerate(hits, 1):
        score = "-" if p.score is None else f"{p.score:.3f}"
        print(f"{rank}. [{p.source_name}] {p.doc} p.{p.page} (score {score})")
        print("   " + " ".join(p.text.split())[:400])
    return 0
