"""A file share becoming a source: download, load with progress in the thread, summary."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.commands import error_text
from adapters.slack_bot.blocks import Block, summary_blocks
from adapters.slack_bot.mrkdwn import escape, to_mrkdwn
from adapters.slack_bot.routing import Route
from adapters.slack_bot.uploads import download, source_name
from agent_core.domain import LoadProgress, LoadReport, UploadedFile
from agent_core.errors import IngestError, MembotError

if TYPE_CHECKING:
    from agent_core.engine import Engine

_log = logging.getLogger(__name__)

_STAGES = {"parsing": "Reading", "embedding": "Embedding", "storing": "Storing", "done": "Done"}


class ProgressMessage:
    """One message in the thread that is edited as work goes on (at most every ``interval`` s)."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str | None,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._interval = interval
        self._clock = clock
        self._ts: str | None = None
        self._last = float("-inf")
        self._text = ""

    async def start(self, text: str) -> None:
        """Post the message."""
        resp = await self._client.chat_postMessage(
            channel=self._channel, thread_ts=self._thread_ts, text=text
        )
        self._ts, self._text, self._last = str(resp["ts"]), text, self._clock()

    async def update(self, text: str) -> None:
        """Show ``text`` unless the last edit was too recent (progress is best effort)."""
        if self._ts is None or text == self._text or self._clock() - self._last < self._interval:
            return
        self._text, self._last = text, self._clock()
        try:
            await self._client.chat_update(channel=self._channel, ts=self._ts, text=text)
        except SlackApiError as exc:
            _log.warning(
                "progress update failed in %s: %s", self._channel, exc.response.get("error")
            )

    async def finish(self, text: str, blocks: list[Block] | None = None) -> None:
        """Replace the message with the final ``text`` (and ``blocks``), always."""
        if self._ts is None:
            await self._client.chat_postMessage(
                channel=self._channel, thread_ts=self._thread_ts, text=text, blocks=blocks
            )
            return
        await self._client.chat_update(channel=self._channel, ts=self._ts, text=text, blocks=blocks)


async def ingest_shared_files(
    engine: Engine,
    client: AsyncWebClient,
    session: aiohttp.ClientSession,
    route: Route,
    *,
    token: str,
    max_bytes: int,
    interval: float,
) -> list[LoadReport]:
    """Turn the files of a ``file_share`` message into sources of its workspace.

    Progress is posted in the message's thread and replaced by a summary with an Attach
    button per source. Each file goes into the source named after it (``report.pdf`` ->
    ``report``); files that cannot be read are listed with the reason.

    Returns:
        One report per source loaded.
    """
    place = route.place
    progress = ProgressMessage(client, place.channel, place.reply_ts, interval)
    names = ", ".join(f"*{escape(str(f.get('name') or 'file'))}*" for f in route.files)
    await progress.start(f":hourglass_flowing_sand: Reading {names}…")
    groups, problems = await _download_all(session, route.files, token, max_bytes)
    reports: list[LoadReport] = []
    for name, files in groups.items():
        try:
            reports.append(await engine.load_source(place.team, name, files, _reporter(progress)))
        except MembotError as exc:
            _log.info("loading %s into %s failed: %s", len(files), name, exc.message)
            problems.append(f"{name}: {error_text(exc)}")
    text, attachable = _summary(reports, problems)
    await progress.finish(text, summary_blocks(text, attachable))
    return reports


async def _download_all(
    session: aiohttp.ClientSession, files: tuple[dict[str, Any], ...], token: str, max_bytes: int
) -> tuple[dict[str, list[UploadedFile]], list[str]]:
    groups: dict[str, list[UploadedFile]] = {}
    problems: list[str] = []
    for file in files:
        try:
            uploaded = await download(session, file, token, max_bytes)
        except IngestError as exc:
            problems.append(exc.message)
            continue
        groups.setdefault(source_name(uploaded.name), []).append(uploaded)
    return groups, problems


def _reporter(progress: ProgressMessage) -> Callable[[LoadProgress], Any]:
    async def report(p: LoadProgress) -> None:
        if p.stage == "done":
            return
        stage = _STAGES.get(p.stage, p.stage)
        await progress.update(
            f":hourglass_flowing_sand: {stage} *{escape(p.file)}* "
            f"(file {min(p.files_done + 1, p.files_total)} of {p.files_total}; "
            f"{p.pages} pages, {p.passages} passages so far)…"
        )

    return report


def _summary(reports: list[LoadReport], problems: list[str]) -> tuple[str, list[str]]:
    lines = [f":white_check_mark: {to_mrkdwn(r.summary())}." for r in reports]
    attachable = [r.source for r in reports if r.passages or r.files_unchanged]
    if attachable:
        lines.append("Attach a source so your agent can search it.")
    lines += [f":warning: {to_mrkdwn(p)}" for p in problems]
    if not reports and not problems:
        lines.append(":warning: There was nothing to load.")
    return "\n".join(lines), attachable
