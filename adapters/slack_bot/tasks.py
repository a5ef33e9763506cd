"""Work that runs after Slack got its ack: named, kept, awaited at shutdown, errors logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

_log = logging.getLogger(__name__)


class BackgroundTasks:
    """A set of named tasks whose failures are logged and which shutdown waits for."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        """Run ``coro`` as task ``name``; ``None`` (and the coroutine closed) once closing."""
        if self._closed:
            coro.close()
            _log.warning("shutting down: dropped %s", name)
            return None
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            _log.info("task %s was cancelled", task.get_name())
            return
        exc = task.exception()
        if exc is not None:
            _log.error("task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until no task is running (tasks started meanwhile are waited for too)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self, grace: float = 60.0) -> None:
        """Refuse new work, let running tasks finish for up to ``grace`` s, cancel the rest."""
        self._closed = True
        if not self._tasks:
            return
        _log.info("waiting for %d in-flight task(s)", len(self._tasks))
        _done, pending = await asyncio.wait(list(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
