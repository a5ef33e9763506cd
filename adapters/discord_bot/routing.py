"""Which agent a Discord event belongs to, whether the bot should answer, and who may do what."""

from __future__ import annotations

import re
from collections.abc import Collection

import discord

from adapters.discord_bot.settings import DiscordSettings, ScopePolicy
from agent_core.domain import ConversationKey, Speaker

PLATFORM = "discord"

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")


def workspace_for(guild_id: int | None, user_id: int) -> str:
    """The engine workspace: the server, or the user's own space for direct messages."""
    return str(guild_id) if guild_id is not None else f"dm-{user_id}"


def conversation_key(
    policy: ScopePolicy,
    *,
    guild_id: int | None,
    channel_id: int,
    thread_parent_id: int | None,
    user_id: int,
) -> ConversationKey:
    """The agent a message goes to under ``policy``.

    Direct messages always go to the user's own agent. In a server, ``user`` gives one
    agent per user per server; ``channel`` one per channel (threads share their parent
    channel's); ``thread`` one per thread (messages outside threads: one per channel).
    Scope ids carry a prefix (``u``/``c``/``t``) so changing the policy never merges agents.
    """
    workspace = workspace_for(guild_id, user_id)
    if guild_id is None or policy == "user":
        return ConversationKey(PLATFORM, workspace, f"u{user_id}")
    if thread_parent_id is not None and policy == "thread":
        return ConversationKey(PLATFORM, workspace, f"t{channel_id}")
    return ConversationKey(PLATFORM, workspace, f"c{thread_parent_id or channel_id}")


def is_shared(policy: ScopePolicy, guild_id: int | None) -> bool:
    """Whether agents under this policy are shared by several people."""
    return guild_id is not None and policy != "user"


def thread_parent(channel: object) -> int | None:
    """The parent channel id if ``channel`` is a thread, else ``None``."""
    return channel.parent_id if isinstance(channel, discord.Thread) else None


def key_for_message(settings: DiscordSettings, message: discord.Message) -> ConversationKey:
    """The conversation a Discord message belongs to."""
    return conversation_key(
        settings.scope,
        guild_id=message.guild.id if message.guild else None,
        channel_id=message.channel.id,
        thread_parent_id=thread_parent(message.channel),
        user_id=message.author.id,
    )


def key_for_interaction(
    settings: DiscordSettings, interaction: discord.Interaction
) -> ConversationKey:
    """The conversation a slash command or button acts on."""
    return conversation_key(
        settings.scope,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id or interaction.user.id,
        thread_parent_id=thread_parent(interaction.channel),
        user_id=interaction.user.id,
    )


def speaker_of(user: discord.abc.User) -> Speaker:
    """Who wrote a message, as the agent sees it."""
    return Speaker(id=str(user.id), name=user.display_name)


def location_allowed(
    settings: DiscordSettings, guild_id: int | None, channel_id: int, parent_id: int | None
) -> bool:
    """Whether the allow/deny lists let the bot act in this server and channel."""
    if guild_id is None:
        return settings.dm_enabled
    if guild_id in settings.denied_guilds:
        return False
    if settings.allowed_guilds and guild_id not in settings.allowed_guilds:
        return False
    ids = {channel_id} if parent_id is None else {channel_id, parent_id}
    if ids & settings.denied_channels:
        return False
    return not settings.allowed_channels or bool(ids & settings.allowed_channels)


def message_allowed(settings: DiscordSettings, message: discord.Message) -> bool:
    """Whether the allow/deny lists let the bot act on this message."""
    guild_id = message.guild.id if message.guild else None
    return location_allowed(settings, guild_id, message.channel.id, thread_parent(message.channel))


def mentions_user(message: discord.Message, user_id: int) -> bool:
    """Whether the message mentions ``user_id`` or replies to one of its messages."""
    if any(u.id == user_id for u in message.mentions):
        return True
    ref = message.reference
    resolved = ref.resolved if ref is not None else None
    return isinstance(resolved, discord.Message) and resolved.author.id == user_id


def addressed_to(message: discord.Message, bot_id: int, engaged: Collection[int]) -> bool:
    """Whether a (non-bot) message is meant for the bot.

    True in direct messages, when the bot is mentioned or replied to, and in threads
    the bot started or was already talking in (``engaged`` thread ids).
    """
    if message.guild is None:
        return True
    if mentions_user(message, bot_id):
        return True
    channel = message.channel
    if isinstance(channel, discord.Thread):
        return channel.owner_id == bot_id or channel.id in engaged or channel.me is not None
    return False


def clean_text(message: discord.Message, bot_id: int) -> str:
    """The message text for the agent: the bot's mention removed, other mentions as names."""
    text = re.sub(rf"<@!?{bot_id}>", "", message.content)
    users = {u.id: u.display_name for u in message.mentions}
    text = _USER_MENTION.sub(lambda m: f"@{users.get(int(m.group(1)), 'someone')}", text)
    guild = message.guild
    if guild is not None:
        text = _ROLE_MENTION.sub(lambda m: f"@{_role_name(guild, int(m.group(1)))}", text)
        text = _CHANNEL_MENTION.sub(lambda m: f"#{_channel_name(guild, int(m.group(1)))}", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _role_name(guild: discord.Guild, role_id: int) -> str:
    role = guild.get_role(role_id)
    return role.name if role else "role"


def _channel_name(guild: discord.Guild, channel_id: int) -> str:
    channel = guild.get_channel_or_thread(channel_id)
    return channel.name if channel else "channel"


def can_manage(
    settings: DiscordSettings,
    user: discord.abc.User,
    permissions: discord.Permissions | None,
    guild_id: int | None,
) -> bool:
    """Whether ``user`` may delete this workspace's sources or reset a shared agent.

    In direct messages the workspace is the user's own. In a server: Manage Server,
    a configured admin role, or a configured admin user.
    """
    if guild_id is None or user.id in settings.admin_user_ids:
        return True
    if permissions is not None and (permissions.manage_guild or permissions.administrator):
        return True
    roles = getattr(user, "roles", ())
    return any(role.id in settings.admin_role_ids for role in roles)
