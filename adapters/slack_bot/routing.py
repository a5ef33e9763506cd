"""Which Slack events the bot acts on, where it answers, and which agent they go to."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from adapters.slack_bot.settings import SlackSettings
from agent_core.domain import ConversationKey

PLATFORM = "slack"

RouteKind = Literal["chat", "ingest"]

_HANDLED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})

ThreadCheck = Callable[[str, str, str | None], Awaitable[bool]]
"""``(channel, thread_ts, parent_user_id) -> whether the bot takes part in that thread``."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a message was written and where the answer goes.

    ``reply_ts`` is the thread to answer in, ``None`` to answer at the top level of a DM.
    """

    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str | None
    is_dm: bool

    @property
    def reply_ts(self) -> str | None:
        """The thread the bot answers in (a channel mention starts one)."""
        return self.thread_ts if (self.is_dm or self.thread_ts) else self.ts

    @property
    def message_key(self) -> str:
        """A stable id of the message, the same in ``app_mention`` and ``message`` events."""
        return f"{self.team}:{self.channel}:{self.ts}"


@dataclass(frozen=True, slots=True)
class Route:
    """An event the bot acts on: a chat turn or files to ingest."""

    kind: RouteKind
    place: Place
    text: str
    files: tuple[dict[str, Any], ...] = ()


def mention_of(bot_user_id: str) -> str:
    """How Slack writes a mention of the bot in message text."""
    return f"<@{bot_user_id}>"


def strip_mention(text: str, bot_user_id: str) -> str:
    """The text without mentions of the bot (``<@U123>`` or ``<@U123|name>``)."""
    return re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text).strip()


async def route_event(
    body: dict[str, Any],
    bot_user_id: str,
    settings: SlackSettings,
    in_thread: ThreadCheck,
) -> Route | None:
    """Decide what to do with an ``app_mention`` or ``message`` event.

    Both deliveries of one channel mention give the same route (same ``message_key``),
    so the caller's deduplication keeps only one.

    Args:
        body: the Events API envelope (``team_id``, ``event``...).
        bot_user_id: the bot's own user id.
        settings: scope, allow/deny lists and the auto-ingest policy.
        in_thread: tells whether the bot takes part in a thread (no mention needed there).

    Returns:
        The route, or ``None`` when the bot should stay silent.
    """
    event = body.get("event") or {}
    place = _place(body, event)
    if place is None or not _wanted(event, place, bot_user_id, settings):
        return None
    text = str(event.get("text") or "")
    addressed = place.is_dm or event.get("type") == "app_mention" or mention_of(bot_user_id) in text
    files = tuple(f for f in event.get("files") or () if isinstance(f, dict))
    if files and _ingests(settings, addressed):
        return Route("ingest", place, strip_mention(text, bot_user_id), files)
    if not addressed:
        if not place.thread_ts or place.thread_ts == place.ts:
            return None
        if not await in_thread(place.channel, place.thread_ts, event.get("parent_user_id")):
            return None
    clean = strip_mention(text, bot_user_id)
    return Route("chat", place, clean) if clean else None


def _place(body: dict[str, Any], event: dict[str, Any]) -> Place | None:
    team = body.get("team_id") or event.get("team")
    channel, user, ts = event.get("channel"), event.get("user"), event.get("ts")
    if not (team and channel and user and ts):
        return None
    is_dm = event.get("channel_type") == "im" or str(channel).startswith("D")
    thread_ts = event.get("thread_ts")
    return Place(str(team), str(channel), str(user), str(ts), thread_ts and str(thread_ts), is_dm)


def _wanted(event: dict[str, Any], place: Place, bot_user_id: str, s: SlackSettings) -> bool:
    if event.get("subtype") not in _HANDLED_SUBTYPES or place.user == bot_user_id:
        return False
    if event.get("bot_id") and s.ignore_bots:
        return False
    if place.is_dm:
        return s.dm_enabled
    if place.channel in s.denied_channels:
        return False
    return not s.allowed_channels or place.channel in s.allowed_channels


def _ingests(settings: SlackSettings, addressed: bool) -> bool:
    return settings.auto_ingest == "on" or (settings.auto_ingest == "mention" and addressed)


def conversation_for(place: Place, settings: SlackSettings) -> ConversationKey:
    """The agent a message in ``place`` belongs to, under the scope policy."""
    if settings.scope == "user":
        scope = place.user
    elif settings.scope == "channel" or (place.is_dm and not place.thread_ts):
        scope = place.channel
    else:
        scope = f"{place.channel}-{place.thread_ts or place.ts}"
    return ConversationKey(PLATFORM, place.team, scope)


def conversation_for_command(
    team: str, user: str, channel: str, settings: SlackSettings
) -> ConversationKey | None:
    """The caller's agent for a slash command or button, ``None`` if it cannot be known.

    Slash commands cannot be used inside threads, so under the ``thread`` policy a
    command in a channel has no agent (in a DM it is the DM's agent).
    """
    is_dm = channel.startswith("D")
    if settings.scope == "user":
        return ConversationKey(PLATFORM, team, user)
    if settings.scope == "channel" or is_dm:
        return ConversationKey(PLATFORM, team, channel)
    return None


def is_shared(settings: SlackSettings, channel: str) -> bool:
    """Whether agents in ``channel`` may hear several people (so speakers are named)."""
    return settings.scope != "user" and not channel.startswith("D")
