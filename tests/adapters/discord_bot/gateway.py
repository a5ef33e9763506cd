"""Raw Discord gateway payloads (as Discord sends them) for building real discord.py objects."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

_ids = itertools.count(1_100_000_000_000_000_000)

MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11
MEMBER_PERMISSIONS = (1 << 10) | SEND_MESSAGES | (1 << 16) | (1 << 15) | (1 << 31)


def snowflake() -> int:
    """A fresh id."""
    return next(_ids)


def now() -> str:
    """An ISO timestamp as Discord writes them."""
    return datetime.now(UTC).isoformat()


def user(name: str, *, user_id: int | None = None, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user_id or snowflake()),
        "username": name.lower(),
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def member(
    u: dict[str, Any],
    *,
    roles: tuple[int, ...] = (),
    nick: str | None = None,
    permissions: int | None = None,
) -> dict[str, Any]:
    """A guild member object (``permissions`` is set in interaction payloads)."""
    data: dict[str, Any] = {
        "user": u,
        "roles": [str(r) for r in roles],
        "nick": nick,
        "joined_at": now(),
        "deaf": False,
        "mute": False,
        "flags": 0,
    }
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def text_channel(channel_id: int, guild_id: int, name: str) -> dict[str, Any]:
    """A guild text channel."""
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def thread(
    thread_id: int,
    guild_id: int,
    parent_id: int,
    owner_id: int,
    name: str,
    *,
    joined_by: int | None = None,
) -> dict[str, Any]:
    """A public thread; ``joined_by`` puts that user (the bot) in it."""
    data: dict[str, Any] = {
        "id": str(thread_id),
        "type": 11,
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": now(),
            "locked": False,
        },
    }
    if joined_by is not None:
        data["member"] = {
            "id": str(thread_id),
            "user_id": str(joined_by),
            "join_timestamp": now(),
            "flags": 0,
        }
    return data


def role(role_id: int, name: str, permissions: int) -> dict[str, Any]:
    """A role."""
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def guild(
    guild_id: int,
    owner_id: int,
    channels: list[dict[str, Any]],
    threads: list[dict[str, Any]],
    roles: list[dict[str, Any]],
    members: list[dict[str, Any]],
) -> dict[str, Any]:
    """A GUILD_CREATE payload."""
    return {
        "id": str(guild_id),
        "name": "Test Server",
        "icon": None,
        "owner_id": str(owner_id),
        "roles": [role(guild_id, "@everyone", MEMBER_PERMISSIONS), *roles],
        "emojis": [],
        "stickers": [],
        "features": [],
        "member_count": len(members),
        "channels": channels,
        "threads": threads,
        "members": members,
        "presences": [],
        "voice_states": [],
        "large": False,
        "unavailable": False,
        "joined_at": now(),
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "system_channel_flags": 0,
    }


def attachment(url: str, filename: str, size: int, content_type: str) -> dict[str, Any]:
    """An attachment object."""
    return {
        "id": str(snowflake()),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
    }


def message(
    channel_id: int,
    author: dict[str, Any],
    content: str,
    *,
    guild_id: int | None = None,
    author_member: dict[str, Any] | None = None,
    mentions: list[dict[str, Any]] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    message_id: int | None = None,
) -> dict[str, Any]:
    """A MESSAGE_CREATE payload."""
    data: dict[str, Any] = {
        "id": str(message_id or snowflake()),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": mentions or [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
        m = dict(author_member or member(author))
        m.pop("user", None)
        data["member"] = m
    return data


def interaction(
    application_id: int,
    kind: int,
    data: dict[str, Any],
    *,
    channel: dict[str, Any],
    guild_id: int | None,
    who: dict[str, Any],
    permissions: int = MEMBER_PERMISSIONS,
    msg: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload (``kind``: 2 command, 3 component, 4 autocomplete)."""
    payload: dict[str, Any] = {
        "id": str(snowflake()),
        "application_id": str(application_id),
        "type": kind,
        "data": data,
        "token": f"tok-{snowflake()}",
        "version": 1,
        "channel": channel,
        "channel_id": channel["id"],
        "locale": "en-US",
        "app_permissions": str(SEND_MESSAGES),
        "attachment_size_limit": 10 * 1024 * 1024,
        "entitlements": [],
        "authorizing_integration_owners": {
            "0": str(guild_id or who["user"]["id"] if "user" in who else who["id"])
        },
        "context": 0 if guild_id is not None else 1,
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["guild_locale"] = "en-US"
        payload["member"] = {**who, "permissions": str(permissions)}
    else:
        payload["user"] = who
    if msg is not None:
        payload["message"] = msg
    return payload


def dm_channel(channel_id: int, recipient: dict[str, Any]) -> dict[str, Any]:
    """A DM channel object as sent with interactions."""
    return {"id": str(channel_id), "type": 1, "recipients": [recipient], "last_message_id": None}
