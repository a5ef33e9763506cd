"""Posting engine replies to Discord: chunking, quoting, typing, throttled status edits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import discord

from adapters.discord_bot.splitting import split_message
from agent_core.domain import Reply

_log = logging.getLogger(__name__)

TYPING_EVERY = 8.0
"""Seconds between typing triggers (Discord shows one for ~10 s)."""

NO_PINGS = discord.AllowedMentions.none()
"""Nothing the agent writes may ping anyone (no @everyone, roles or users)."""

_PREFIX = {"message": "", "notice": "ℹ️ ", "error": "⚠️ "}


def reply_text(reply: Reply) -> str:
    """The text to post for a reply (errors and notices are marked)."""
    return _PREFIX.get(reply.kind, "") + reply.text


class ReplySender:
    """Posts the replies to one user message, in order, as the agent sends them.

    The first chunk of each reply quotes the user's message when the channel moved on
    since (someone else wrote in between), so the answer is clearly attached to it.
    """

    def __init__(self, message: discord.Message) -> None:
        self.message = message
        self.sent: list[discord.Message] = []
        self.failed = False

    def _busy(self) -> bool:
        if self.message.guild is None:
            return False
        last = getattr(self.message.channel, "last_message_id", None)
        ours = {self.message.id, *(m.id for m in self.sent)}
        return last is not None and last not in ours

    def _quote(self) -> discord.MessageReference:
        return self.message.to_reference(fail_if_not_exists=False)

    async def send(self, reply: Reply) -> None:
        """Post one reply (split at Discord's limit); failures are logged, not raised."""
        if self.failed:
            return
        for i, chunk in enumerate(split_message(reply_text(reply))):
            quote: dict[str, Any] = {"reference": self._quote()} if i == 0 and self._busy() else {}
            try:
                sent = await self.message.channel.send(
                    chunk, mention_author=False, allowed_mentions=NO_PINGS, **quote
                )
            except discord.HTTPException as exc:
                _log.warning(
                    "could not post a reply in channel %s: %s %s",
                    self.message.channel.id,
                    exc.status,
                    exc.text,
                )
                self.failed = True
                return
            self.sent.append(sent)


@contextlib.asynccontextmanager
async def typing(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show the typing indicator while the body runs; a refused trigger is ignored."""

    async def keep_typing() -> None:
        while True:
            try:
                await channel.typing()
            except discord.HTTPException as exc:
                _log.debug("typing indicator refused: %s", exc)
                return
            await asyncio.sleep(TYPING_EVERY)

    task = asyncio.create_task(keep_typing(), name="discord-typing")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Status:
    """A message showing the progress of long work, edited in place (throttled).

    ``post`` creates the message with its first text and returns an edit function.
    """

    def __init__(
        self,
        post: Callable[[str], Awaitable[Callable[[str], Awaitable[object]]]],
        interval: float,
    ) -> None:
        self._post = post
        self._edit: Callable[[str], Awaitable[object]] | None = None
        self._interval = interval
        self._last_edit = 0.0
        self._last_text = ""

    async def update(self, text: str, *, final: bool = False) -> None:
        """Show ``text``; intermediate updates closer than the interval are skipped."""
        text = _fit(text)
        if text == self._last_text:
            return
        now = time.monotonic()
        if self._edit is not None and not final and now - self._last_edit < self._interval:
            return
        try:
            if self._edit is None:
                self._edit = await self._post(text)
            else:
                await self._edit(text)
        except discord.HTTPException as exc:
            _log.warning("could not update a status message: %s %s", exc.status, exc.text)
            return
        self._last_edit, self._last_text = now, text


def _fit(text: str, limit: int = 2000) -> str:
    """Cut a status text to one Discord message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def channel_status(message: discord.Message, interval: float) -> Status:
    """A status message posted in reply to ``message``."""

    async def post(text: str) -> Callable[[str], Awaitable[object]]:
        sent = await message.channel.send(
            text,
            reference=message.to_reference(fail_if_not_exists=False),
            mention_author=False,
            allowed_mentions=NO_PINGS,
        )

        async def edit(new: str) -> object:
            return await sent.edit(content=new, allowed_mentions=NO_PINGS)

        return edit

    return Status(post, interval)


def interaction_status(interaction: discord.Interaction, interval: float) -> Status:
    """A status shown as the (already deferred) interaction's response."""

    async def edit(text: str) -> object:
        return await interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)

    async def post(text: str) -> Callable[[str], Awaitable[object]]:
        await edit(text)
        return edit

    return Status(post, interval)
