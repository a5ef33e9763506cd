"""The Discord client: gateway events in, engine calls, replies out."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import discord

from adapters.commands import error_text
from adapters.discord_bot import routing, uploads
from adapters.discord_bot.replies import NO_PINGS, ReplySender, channel_status, typing
from adapters.discord_bot.settings import DiscordSettings
from adapters.discord_bot.slash import MembotTree, install_commands
from adapters.discord_bot.sync import sync_commands
from agent_core.domain import IncomingMessage, Reply

if TYPE_CHECKING:
    from agent_core.engine import Engine

_log = logging.getLogger(__name__)

UPLOAD_EVENTS = "discord-upload"
"""Namespace of ``Engine.claim_event`` for messages whose files were ingested."""

_SEEN_MAX = 4096
_CHAT_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def default_intents() -> discord.Intents:
    """Gateway intents: servers, server and direct messages, and message content (privileged)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    return intents


class MembotClient(discord.Client):
    """A discord.py client that hands conversations to the engine.

    Every incoming message is handled in its own named task, kept until it finishes;
    ``shutdown()`` stops taking new messages, lets those tasks finish, then disconnects.

    Args:
        engine: the opened engine.
        settings: the adapter's settings.
        sync_on_start: whether ``setup_hook`` syncs slash commands (per settings).
        **options: passed to ``discord.Client`` (e.g. ``shard_count``).
    """

    def __init__(
        self,
        engine: Engine,
        settings: DiscordSettings,
        *,
        sync_on_start: bool = True,
        **options: Any,
    ) -> None:
        options.setdefault("intents", default_intents())
        options.setdefault("allowed_mentions", NO_PINGS)
        super().__init__(**options)
        self.engine = engine
        self.settings = settings
        self.tree = MembotTree(self)
        install_commands(self.tree, self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._engaged: set[int] = set()
        self._closing = False
        self._sync_on_start = sync_on_start

    async def setup_hook(self) -> None:
        """Sync slash commands as the settings ask, once per start."""
        if self._sync_on_start:
            await sync_commands(self.tree, self.settings)

    async def on_ready(self) -> None:
        """Log the identity the bot runs as."""
        _log.info(
            "connected to Discord as %s (%s), %d servers",
            self.user,
            getattr(self.user, "id", "?"),
            len(self.guilds),
        )

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        """Route gateway events; each message gets a tracked task of its own."""
        super().dispatch(event, *args, **kwargs)
        if event == "message" and not self._closing:
            message: discord.Message = args[0]
            self.spawn(self.handle_message(message), name=f"discord-message-{message.id}")

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a named task that ``drain()`` waits for; errors are logged."""
        task = asyncio.create_task(coro, name=name)
        self.track(task)
        return task

    def track(self, task: asyncio.Task[Any]) -> None:
        """Keep ``task`` until it finishes, so shutdown waits for it."""
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until every message and command being handled is finished."""
        current = asyncio.current_task()
        while pending := [t for t in self._tasks if t is not current]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def shutdown(self) -> None:
        """Stop taking messages, let in-flight turns finish, then disconnect."""
        self._closing = True
        await self.drain()
        await self.close()

    @property
    def closing(self) -> bool:
        """Whether ``shutdown()`` has begun (new work is refused)."""
        return self._closing

    def _first_sight(self, message_id: int) -> bool:
        """False if this message was already seen by this process (gateway replays)."""
        if message_id in self._seen:
            return False
        self._seen[message_id] = None
        if len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)
        return True

    def _relevant(self, message: discord.Message) -> bool:
        me = self.user
        if me is None or message.author.id == me.id or message.type not in _CHAT_TYPES:
            return False
        if message.author.bot and self.settings.ignore_bots:
            return False
        return routing.message_allowed(self.settings, message)

    async def handle_message(self, message: discord.Message) -> None:
        """Ingest a message's files and/or answer it, if it is meant for the bot."""
        if not self._relevant(message) or not self._first_sight(message.id):
            return
        assert self.user is not None
        addressed = routing.addressed_to(message, self.user.id, self._engaged)
        if message.attachments and self._wants_files(addressed):
            await self._ingest(message, addressed)
        text = routing.clean_text(message, self.user.id)
        if addressed and text:
            await self._chat(message, text)

    def _wants_files(self, addressed: bool) -> bool:
        mode = self.settings.auto_ingest
        return mode == "on" or (mode == "mention" and addressed)

    async def _chat(self, message: discord.Message, text: str) -> None:
        guild_id = message.guild.id if message.guild else None
        shared = routing.is_shared(self.settings.scope, guild_id)
        incoming = IncomingMessage(
            conversation=routing.key_for_message(self.settings, message),
            text=text,
            speaker=routing.speaker_of(message.author) if shared else None,
            message_id=str(message.id),
        )
        sender = ReplySender(message)
        delivered: list[Reply] = []

        async def on_reply(reply: Reply) -> None:
            delivered.append(reply)
            await sender.send(reply)

        try:
            async with typing(message.channel):
                result = await self.engine.handle(incoming, on_reply=on_reply)
        except Exception as exc:
            _log.exception("turn for %s failed", incoming.conversation)
            await sender.send(Reply(error_text(exc), kind="error"))
            return
        if not delivered:  # an engine that returns replies without streaming them
            for reply in result.replies:
                await sender.send(reply)
        if isinstance(message.channel, discord.Thread):
            self._engaged.add(message.channel.id)

    async def _ingest(self, message: discord.Message, addressed: bool) -> None:
        limit = self.settings.max_file_bytes
        accepted: list[discord.Attachment] = []
        refusals: list[uploads.Refusal] = []
        for attachment in message.attachments:
            refusal = uploads.check_attachment(attachment, limit)
            if refusal is None:
                accepted.append(attachment)
            elif addressed or uploads.is_supported(attachment):
                refusals.append(refusal)
        if refusals:
            await ReplySender(message).send(Reply(uploads.refusal_text(refusals), kind="message"))
        if not accepted or not await self.engine.claim_event(UPLOAD_EVENTS, str(message.id)):
            return
        try:
            files = [await uploads.download(a) for a in accepted]
        except discord.HTTPException as exc:
            _log.warning("downloading attachments of %s failed: %s", message.id, exc)
            await ReplySender(message).send(
                Reply(
                    "I could not download the file from Discord; please upload it again.",
                    kind="error",
                )
            )
            return
        workspace = routing.workspace_for(
            message.guild.id if message.guild else None, message.author.id
        )
        for file in files:
            status = channel_status(message, self.settings.edit_interval)
            name = uploads.source_name_for(file.name)
            await uploads.load_files(self.engine, workspace, name, [file], status)
