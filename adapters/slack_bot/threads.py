"""Which threads the bot takes part in, so replies there need no new mention."""

from __future__ import annotations

import logging
from collections import OrderedDict

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_bot.routing import mention_of

_log = logging.getLogger(__name__)

_CACHE_SIZE = 10_000


class ThreadTracker:
    """Remembers threads the bot answered in; after a restart it asks Slack once per thread.

    A thread counts as the bot's when the bot answered in it since start, when the bot
    wrote its first message, or when that first message mentions the bot (one
    ``conversations.replies`` call, then cached).
    """

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._known: OrderedDict[tuple[str, str], bool] = OrderedDict()

    def mark(self, channel: str, thread_ts: str) -> None:
        """Record that the bot takes part in this thread."""
        self._remember((channel, thread_ts), True)

    async def engaged(
        self, channel: str, thread_ts: str, parent_user_id: str | None, *, bot_user_id: str
    ) -> bool:
        """Whether the bot takes part in the thread ``thread_ts`` of ``channel``."""
        key = (channel, thread_ts)
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        if parent_user_id == bot_user_id:
            self._remember(key, True)
            return True
        started = await self._started_by_mention(channel, thread_ts, bot_user_id)
        self._remember(key, started)
        return started

    async def _started_by_mention(self, channel: str, thread_ts: str, bot_user_id: str) -> bool:
        try:
            resp = await self._client.conversations_replies(channel=channel, ts=thread_ts, limit=1)
        except SlackApiError as exc:
            _log.warning(
                "conversations.replies %s/%s failed: %s",
                channel,
                thread_ts,
                exc.response.get("error"),
            )
            return False
        messages = resp.get("messages") or []
        if not messages:
            return False
        first = messages[0]
        return first.get("user") == bot_user_id or mention_of(bot_user_id) in str(
            first.get("text") or ""
        )

    def _remember(self, key: tuple[str, str], value: bool) -> None:
        self._known[key] = value
        self._known.move_to_end(key)
        if len(self._known) > _CACHE_SIZE:
            self._known.popitem(last=False)
