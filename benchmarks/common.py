"""Shared helpers of the benchmarks: percentiles, tables, JSON results, machine facts.

Also a scripted model for the engine benchmarks (the same answers in-process and
over HTTP), a timing wrapper that separates the model's own time from the engine's,
and a local OpenAI-compatible model server run in a child process
(``python benchmarks/common.py serve --latency 0.5 --max-concurrency 32``), so that
its CPU time is not charged to the engine's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agent_core.domain import ChatMessage, Completion  # noqa: E402
from agent_core.testing import (  # noqa: E402
    FakeOpenAIServer,
    ServerItem,
    last_user_text,
    plain_text,
    send_message,
)

SUMMARY_TEXT = "The user and the agent exchanged small talk and a few facts."


# -- statistics and output ----------------------------------------------------------------

def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99, mean and max of ``values`` (nearest-rank), rounded to 3 decimals."""
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"),
                "mean": float("nan"), "max": float("nan"), "n": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]

    return {"p50": round(rank(0.50), 3), "p95": round(rank(0.95), 3),
            "p99": round(rank(0.99), 3), "mean": round(statistics.fmean(ordered), 3),
            "max": round(ordered[-1], 3), "n": len(ordered)}


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """The machine and library versions a result was taken on."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "python": platform.python_version(), "load_avg_at_start": load,
            "memory_gb": round(_total_memory() / 2**30, 1),
            "versions": {p: _version(p) for p in ("pymilvus", "milvus-lite", "openai", "torch",
                                                   "sentence-transformers", "aiosqlite")},
            "when": datetime.now(UTC).isoformat(timespec="seconds")}


def _total_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def parser(description: str, name: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every benchmark takes (``--quick``, ``--out``)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    p.add_argument("--out", type=Path, default=RESULTS / f"{name}.json",
                   help="where to write the JSON results")
    return p


def write_json(path: Path, result: dict[str, Any]) -> None:
    """Write ``result`` as indented JSON (creating the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results written to {path}")


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under a header, the first column left-aligned, the others right."""
    cells = [[_cell(v) for v in row] for row in [list(header), *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for i, row in enumerate(cells):
        first = row[0].ljust(widths[0])
        rest = [v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join([first, *rest]))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return "-" if value is None else str(value)


# -- memory -------------------------------------------------------------------------------

def rss_bytes(pid: int | None = None, children: bool = True) -> int:
    """Resident set size of a process (and, by default, of its descendants) from /proc."""
    root = pid or os.getpid()
    total = 0
    for p in _tree(root) if children else [root]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(parents.get(p, []))
    return found


# -- a scripted model ---------------------------------------------------------------------

def script(messages: Sequence[ChatMessage], has_tools: bool) -> Completion:
    """Answers of the benchmarks' model: a summary when asked for one, else an echo."""
    if not has_tools:
        return plain_text(SUMMARY_TEXT)
    return send_message("echo: " + last_user_text(messages))


def body_messages(body: dict[str, Any]) -> list[ChatMessage]:
    """The user/system messages of an OpenAI chat request body."""
    return [ChatMessage(m["role"], m.get("content")) for m in body["messages"]
            if m["role"] in ("user", "system")]


def echo_body(body: dict[str, Any]) -> ServerItem:
    """The fake server's answer to a request body (see :func:`script`)."""
    return script(body_messages(body), bool(body.get("tools")))


class TimedChatModel:
    """Wraps a ``ChatModel`` and records how long each ``complete`` call took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model = inner.model
        self.calls: list[tuple[float, float, str]] = []  # (start, end, last user text)

    async def complete(self, messages: Sequence[ChatMessage],
                       tools: Sequence[dict[str, Any]]) -> Completion:
        """Forward to the wrapped model and record (start, end, last user text)."""
        start = time.perf_counter()
        try:
            return await self.inner.complete(messages, tools)
        finally:
            self.calls.append((start, time.perf_counter(), last_user_text(messages)))

    def model_seconds(self, since: int = 0) -> float:
        """Total time spent in the model from call number ``since`` on."""
        return sum(end - start for start, end, _ in self.calls[since:])

    async def aclose(self) -> None:
        """Close the wrapped model."""
        closer = getattr(self.inner, "aclose", None)
        if closer is not None:
            await closer()


# -- the model server in a child process -----------------------------------------------------

class ModelServerProcess:
    """A ``FakeOpenAIServer`` (echo answers) in a child process: ``async with ... as s``."""

    def __init__(self, *, latency: float = 0.0, max_concurrency: int | None = None,
                 api_key: str = "bench-key") -> None:
        self.latency = latency
        self.max_concurrency = max_concurrency
        self.api_key = api_key
        self.base_url = ""
        self.stats: dict[str, Any] = {}
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ModelServerProcess:
        args = [sys.executable, str(HERE), "serve", "--latency",
                str(self.latency), "--api-key", self.api_key]
        if self.max_concurrency:
            args += ["--max-concurrency", str(self.max_concurrency)]
        self._proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), 60)
        if not line.startswith(b"http"):
            raise RuntimeError(f"model server did not start: {line!r}")
        self.base_url = line.decode().strip()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            return
        proc.stdin.close()
        try:
            out = await asyncio.wait_for(proc.stdout.read(), 30)
            self.stats = json.loads(out.decode() or "{}")
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


async def _serve(latency: float, max_concurrency: int | None, api_key: str) -> None:
    async with FakeOpenAIServer(echo_body, api_key=api_key, latency=latency,
                                max_concurrency=max_concurrency) as server:
        print(server.base_url, flush=True)
        await asyncio.to_thread(sys.stdin.read)  # serve until the parent closes our stdin
        stats = {"requests": len(server.requests), "peak_concurrency": server.peak_concurrency}
    print(json.dumps(stats), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """``serve``: run the echo model server until stdin closes, print its URL first."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("command", choices=["serve"])
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--max-concurrency", type=int, default=None)
    p.add_argument("--api-key", default="bench-key")
    args = p.parse_args(argv)
    asyncio.run(_serve(args.latency, args.max_concurrency, args.api_key))


if __name__ == "__main__":
    main()
