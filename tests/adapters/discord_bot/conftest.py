"""A Discord world for tests: the fake REST server, a logged-in bot, a server with channels."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import discord
import pytest

from adapters.discord_bot import DiscordSettings, MembotClient
from agent_core.ports import ChatModel
from tests.adapters.discord_bot import gateway as gw
from tests.adapters.discord_bot.fake_discord import FakeDiscord, InteractionRecord

TOKEN = "MTIz.test-token"


@dataclass
class World:
    """The bot, the fake Discord it talks to, and a server with people in it."""

    fake: FakeDiscord
    client: MembotClient
    app_id: int
    bot: dict[str, Any]
    guild_id: int
    general: int
    random: int
    bot_thread: int
    other_thread: int
    admin_role: int
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    dms: dict[str, int] = field(default_factory=dict)
    guild_payload: dict[str, Any] = field(default_factory=dict)

    @property
    def bot_id(self) -> int:
        return int(self.bot["id"])

    def uid(self, who: str) -> int:
        return int(self.people[who]["id"])

    # -- messages --------------------------------------------------------------------

    def post(
        self,
        who: str,
        content: str,
        *,
        channel: int | None = None,
        dm: bool = False,
        mention: bool = False,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Dispatch a MESSAGE_CREATE through the client's connection state (no waiting)."""
        author = self.people[who]
        if dm:
            cid, guild_id, member = self.dms[who], None, None
        else:
            cid, guild_id, member = channel or self.general, self.guild_id, self.members[who]
        mentions = [self.bot] if mention else []
        if mention:
            content = f"<@{self.bot_id}> {content}"
        payload = gw.message(
            cid,
            author,
            content,
            guild_id=guild_id,
            author_member=member,
            mentions=mentions,
            attachments=attachments,
        )
        self.fake.seen_messages.add(int(payload["id"]))
        self.client._connection.parse_message_create(payload)
        return payload

    async def say(self, who: str, content: str, **kwargs: Any) -> dict[str, Any]:
        """Post a message and wait until the bot has finished with it."""
        payload = self.post(who, content, **kwargs)
        await self.client.drain()
        return payload

    def attach_file(
        self, name: str, data: bytes, content_type: str, size: int | None = None
    ) -> dict[str, Any]:
        """An attachment served by the fake CDN."""
        url = self.fake.add_file(name, data, content_type)
        return gw.attachment(url, name, len(data) if size is None else size, content_type)

    # -- interactions ----------------------------------------------------------------

    def _channel(self, channel: int | None, who: str) -> tuple[dict[str, Any], int | None]:
        if channel == -1:
            return gw.dm_channel(self.dms[who], self.people[who]), None
        cid = channel or self.general
        kind = 11 if cid in (self.bot_thread, self.other_thread) else 0
        data = {
            "id": str(cid),
            "type": kind,
            "guild_id": str(self.guild_id),
            "name": "x",
            "position": 0,
            "permission_overwrites": [],
            "parent_id": str(self.general) if kind == 11 else None,
        }
        return data, self.guild_id

    def interact(
        self,
        kind: int,
        data: dict[str, Any],
        who: str,
        *,
        channel: int | None = None,
        permissions: int = gw.MEMBER_PERMISSIONS,
        msg: dict[str, Any] | None = None,
        message: dict[str, Any] | None = None,
    ) -> InteractionRecord:
        """Dispatch an INTERACTION_CREATE; returns the fake's record of the bot's answers."""
        chan, guild_id = self._channel(channel, who)
        who_data = self.members[who] if guild_id else self.people[who]
        payload = gw.interaction(
            self.app_id,
            kind,
            data,
            channel=chan,
            guild_id=guild_id,
            who=who_data,
            permissions=permissions,
            msg=msg,
        )
        record = self.fake.add_interaction(
            int(payload["id"]), payload["token"], int(chan["id"]), message=message
        )
        self.client._connection.parse_interaction_create(payload)
        return record

    async def command(
        self,
        name: str,
        who: str = "alice",
        *,
        options: list[dict[str, Any]] | None = None,
        resolved: dict[str, Any] | None = None,
        done: Callable[[InteractionRecord], bool] | None = None,
        **kwargs: Any,
    ) -> InteractionRecord:
        """Run a slash command and wait for its final answer."""
        data: dict[str, Any] = {
            "id": str(gw.snowflake()),
            "name": name,
            "type": 1,
            "options": options or [],
        }
        if resolved:
            data["resolved"] = resolved
        record = self.interact(2, data, who, **kwargs)
        await self.fake.wait_for(lambda: (done or settled)(record))
        await self.client.drain()
        return record

    async def click(
        self, record: InteractionRecord, label: str, who: str = "alice", **kwargs: Any
    ) -> InteractionRecord:
        """Press the button labelled ``label`` on the response of ``record``."""
        assert record.original is not None
        buttons = [c for row in record.original["components"] for c in row["components"]]
        button = next(b for b in buttons if b.get("label") == label)
        data = {"custom_id": button["custom_id"], "component_type": 2}
        click = self.interact(
            3, data, who, msg=dict(record.original), message=record.original, **kwargs
        )
        await self.fake.wait_for(
            lambda: (
                bool(click.callbacks)
                and (
                    click.callbacks[0]["type"] != 7
                    or (click.original or {}).get("content") != WORKING
                )
            )
        )
        await self.client.drain()
        return click

    async def autocomplete(
        self, name: str, option: str, value: str, who: str = "alice", **kwargs: Any
    ) -> list[dict[str, Any]]:
        """The choices the bot offers while ``who`` types ``value`` into ``option``."""
        data = {
            "id": str(gw.snowflake()),
            "name": name,
            "type": 1,
            "options": [{"name": option, "type": 3, "value": value, "focused": True}],
        }
        record = self.interact(4, data, who, **kwargs)
        await self.fake.wait_for(lambda: bool(record.callbacks))
        assert record.callbacks[0]["type"] == 8
        return list(record.callbacks[0]["data"]["choices"])


WORKING = "⏳ Working…"


def settled(record: InteractionRecord) -> bool:
    """A command answered at once (type 4) or deferred then edited."""
    if not record.callbacks:
        return False
    kind = record.callbacks[0]["type"]
    return kind == 4 or (kind == 5 and bool(record.original_edits))


MakeWorld = Callable[..., Awaitable[World]]


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """The fake Discord REST API; discord.py is pointed at it."""
    bot = gw.user("membot", bot=True)
    server = FakeDiscord(TOKEN, bot, application_id=gw.snowflake())
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", f"{server.url}/api/v10")
    yield server
    await server.close()


@pytest.fixture
async def make_world(fake: FakeDiscord, make_engine: Any) -> AsyncIterator[MakeWorld]:
    """Factory: ``await make_world(chat_model=..., settings=DiscordSettings(...))``."""
    clients: list[MembotClient] = []

    async def factory(
        chat_model: ChatModel | None = None,
        settings: DiscordSettings | None = None,
        **engine_overrides: Any,
    ) -> World:
        engine = await make_engine(chat_model=chat_model, **engine_overrides)
        client = MembotClient(engine, settings or DiscordSettings(command_sync="never"))
        clients.append(client)
        await client.login(TOKEN)
        return build_world(fake, client)

    yield factory
    for client in clients:
        await client.shutdown()


def build_world(fake: FakeDiscord, client: MembotClient | None) -> World:
    """A server with channels, threads and members, announced (GUILD_CREATE) to ``client``.

    Without a client (the bot runs its own gateway loop) nothing is announced; the
    payload is in ``world.guild_payload``.
    """
    guild_id, general, random_ = gw.snowflake(), gw.snowflake(), gw.snowflake()
    bot_thread, other_thread, admin_role = gw.snowflake(), gw.snowflake(), gw.snowflake()
    people = {n: gw.user(n.capitalize()) for n in ("alice", "bob", "carol")}
    people["otherbot"] = gw.user("OtherBot", bot=True)
    members = {n: gw.member(u) for n, u in people.items()}
    members["carol"] = gw.member(people["carol"], roles=(admin_role,))
    bot_id = int(fake.bot_user["id"])
    threads = [
        gw.thread(bot_thread, guild_id, general, bot_id, "bot thread"),
        gw.thread(other_thread, guild_id, general, int(people["bob"]["id"]), "bob's"),
    ]
    payload = gw.guild(
        guild_id,
        int(people["carol"]["id"]),
        [
            gw.text_channel(general, guild_id, "general"),
            gw.text_channel(random_, guild_id, "random"),
        ],
        threads,
        [gw.role(admin_role, "membot-admin", gw.MEMBER_PERMISSIONS)],
        [*members.values(), gw.member(fake.bot_user)],
    )
    if client is not None:
        client._connection.parse_guild_create(payload)
    for cid in (general, random_, bot_thread, other_thread):
        fake.add_channel(cid, guild_id)
    world = World(
        fake,
        cast(MembotClient, client),
        fake.application_id,
        fake.bot_user,
        guild_id,
        general,
        random_,
        bot_thread,
        other_thread,
        admin_role,
        people,
        members,
        guild_payload=payload,
    )
    for name in people:
        world.dms[name] = gw.snowflake()
        fake.add_channel(world.dms[name], None)
    return world
