"""In-process metrics (counters and histograms) with Prometheus text exposition.

The engine records; ``bot/`` serves ``/metrics``. No client library is needed.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Sequence
from typing import Any

from agent_core.domain import ChatMessage, Completion
from agent_core.ports import ChatModel

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

Labels = tuple[tuple[str, str], ...]


def _labels(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _fmt(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in items)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Counter:
    """A monotonically increasing count, per label set."""

    def __init__(self, name: str, help: str) -> None:
        self.name, self.help = name, help
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the series of these labels."""
        key = _labels(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        """The current value of one series."""
        return self._values.get(_labels(labels), 0.0)

    def expose(self) -> list[str]:
        """Prometheus text lines."""
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_fmt(k)} {v:g}" for k, v in sorted(self._values.items())]
        return lines


class Histogram:
    """Observations in cumulative buckets, per label set."""

    def __init__(self, name: str, help: str, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name, self.help, self.buckets = name, help, tuple(buckets)
        self._series: dict[Labels, list[float]] = {}  # bucket counts..., sum, count
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        """Record one observation."""
        key = _labels(labels)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            index = bisect.bisect_left(self.buckets, value)
            if index < len(self.buckets):
                series[index] += 1
            series[-2] += value
            series[-1] += 1

    def count(self, **labels: str) -> int:
        """How many observations a series holds."""
        series = self._series.get(_labels(labels))
        return int(series[-1]) if series else 0

    def expose(self) -> list[str]:
        """Prometheus text lines (cumulative buckets, sum, count)."""
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, series in sorted(self._series.items()):
            running = 0.0
            for bound, n in zip(self.buckets, series, strict=False):
                running += n
                lines.append(f"{self.name}_bucket{_fmt(key, (('le', f'{bound:g}'),))} "
                             f"{running:g}")
            lines.append(f"{self.name}_bucket{_fmt(key, (('le', '+Inf'),))} {series[-1]:g}")
            lines.append(f"{self.name}_sum{_fmt(key)} {series[-2]:g}")
            lines.append(f"{self.name}_count{_fmt(key)} {series[-1]:g}")
        return lines


class Metrics:
    """Every metric the engine records."""

    def __init__(self) -> None:
        self.turns = Counter("membot_turns_total", "Turns handled, by outcome.")
        self.turn_seconds = Histogram("membot_turn_seconds", "Wall time of a turn.")
        self.llm_seconds = Histogram("membot_llm_request_seconds", "Model request latency.")
        self.llm_tokens = Counter("membot_llm_tokens_total", "Tokens reported by the model.")
        self.llm_errors = Counter("membot_llm_errors_total", "Failed model requests, by kind.")
        self.tool_calls = Counter("membot_tool_calls_total", "Tool calls, by tool and status.")
        self.ingested = Counter("membot_ingested_total", "Ingestion: files, pages, passages.")
        self.errors = Counter("membot_errors_total", "Errors shown to users, by kind.")
        self.started = time.time()

    def expose(self) -> str:
        """All metrics in the Prometheus text format."""
        lines: list[str] = ["# HELP membot_start_time_seconds Process start time.",
                            "# TYPE membot_start_time_seconds gauge",
                            f"membot_start_time_seconds {self.started:.0f}"]
        for metric in (self.turns, self.turn_seconds, self.llm_seconds, self.llm_tokens,
                       self.llm_errors, self.tool_calls, self.ingested, self.errors):
            lines += metric.expose()
        return "\n".join(lines) + "\n"


class InstrumentedChatModel:
    """A ``ChatModel`` wrapper recording latency, tokens and errors."""

    def __init__(self, inner: ChatModel, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.model = inner.model

    async def complete(self, messages: Sequence[ChatMessage],
                       tools: Sequence[dict[str, Any]]) -> Completion:
        """Delegate, recording what happened."""
        start = time.perf_counter()
        try:
            completion = await self.inner.complete(messages, tools)
        except Exception as exc:
            self.metrics.llm_errors.inc(kind=type(exc).__name__)
            raise
        finally:
            self.metrics.llm_seconds.observe(time.perf_counter() - start)
        if completion.usage is not None:
            self.metrics.llm_tokens.inc(completion.usage.prompt_tokens, kind="prompt")
            self.metrics.llm_tokens.inc(completion.usage.completion_tokens, kind="completion")
        return completion

    async def aclose(self) -> None:
        """Close the wrapped model if it can be closed."""
        closer = getattr(self.inner, "aclose", None)
        if closer is not None:
            await closer()
