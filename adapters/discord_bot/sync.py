"""Pushing the slash command set to Discord only when it changed (syncing is rate limited)."""

from __future__ import annotations

import json
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord_bot.settings import DiscordSettings

_log = logging.getLogger(__name__)

_OPTION_KEYS = ("name", "description", "type", "required", "autocomplete", "choices", "options")
_COMMAND_KEYS = ("name", "description", "type", "options", "default_member_permissions", "nsfw")
_DEFAULTS: dict[str, Any] = {
    "required": False,
    "autocomplete": False,
    "nsfw": False,
    "options": [],
    "choices": [],
    "type": 1,
}


def _shape(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The parts of a command (or option) that matter when comparing, defaults filled in."""
    out = {k: item.get(k) if item.get(k) is not None else _DEFAULTS.get(k) for k in keys}
    out["options"] = [_shape(o, _OPTION_KEYS) for o in item.get("options") or []]
    if "choices" in out:
        out["choices"] = out["choices"] or []
    return out


def fingerprint(commands: list[dict[str, Any]]) -> str:
    """A canonical text of a command list, equal for equivalent lists."""
    shaped = sorted((_shape(c, _COMMAND_KEYS) for c in commands), key=lambda c: c["name"])
    return json.dumps(shaped, sort_keys=True)


async def sync_commands(
    tree: app_commands.CommandTree[Any], settings: DiscordSettings, *, force: bool = False
) -> int:
    """Sync the tree's commands as ``settings.command_sync`` asks (or always if ``force``).

    Commands go to each of ``settings.sync_guild_ids`` (instant, for development) or
    globally. In ``auto`` mode the remote list is fetched and compared first, so an
    unchanged set is never re-uploaded. Failures are logged, not raised: the bot still
    answers messages. Returns how many targets were synced.
    """
    if settings.command_sync == "never" and not force:
        return 0
    targets: list[discord.Object | None] = [
        discord.Object(g) for g in sorted(settings.sync_guild_ids)
    ]
    synced = 0
    for guild in targets or [None]:
        if guild is not None:
            tree.copy_global_to(guild=guild)
        try:
            if not force and settings.command_sync == "auto" and await _up_to_date(tree, guild):
                _log.info("slash commands up to date (%s)", _where(guild))
                continue
            await tree.sync(guild=guild)
        except discord.HTTPException as exc:
            _log.warning(
                "could not sync slash commands (%s): %s %s", _where(guild), exc.status, exc.text
            )
            continue
        synced += 1
        _log.info("slash commands synced (%s)", _where(guild))
    return synced


async def _up_to_date(tree: app_commands.CommandTree[Any], guild: discord.Object | None) -> bool:
    http = tree.client.http
    app_id = tree.client.application_id
    if app_id is None:
        return False
    if guild is None:
        remote = await http.get_global_commands(app_id)
    else:
        remote = await http.get_guild_commands(app_id, guild.id)
    local = [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
    return fingerprint(list(remote)) == fingerprint(local)


def _where(guild: discord.Object | None) -> str:
    return "global" if guild is None else f"server {guild.id}"
