"""Who a Slack user is: display names for shared agents, admin rights for commands."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agent_core.errors import PermissionDeniedError

_log = logging.getLogger(__name__)

_CACHE_SIZE = 2048


class People:
    """Looks users up with ``users.info`` (``users:read``), names cached.

    Args:
        client: the bot's Web API client.
        admin_user_ids: users with admin rights in membot besides workspace admins.
    """

    def __init__(self, client: AsyncWebClient, admin_user_ids: frozenset[str]) -> None:
        self._client = client
        self._admins = admin_user_ids
        self._names: OrderedDict[str, str] = OrderedDict()

    async def name(self, user_id: str) -> str:
        """The user's display name (their id if Slack cannot tell)."""
        if user_id in self._names:
            self._names.move_to_end(user_id)
            return self._names[user_id]
        info = await self._info(user_id)
        profile = info.get("profile") or {}
        name = str(
            profile.get("display_name") or profile.get("real_name") or info.get("name") or user_id
        )
        self._names[user_id] = name
        if len(self._names) > _CACHE_SIZE:
            self._names.popitem(last=False)
        return name

    async def is_admin(self, user_id: str) -> bool:
        """Whether the user is a configured admin or a workspace admin/owner."""
        if user_id in self._admins:
            return True
        info = await self._info(user_id)
        return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))

    async def require_admin(self, user_id: str, action: str) -> None:
        """Raise ``PermissionDeniedError`` unless the user may ``action``."""
        if not await self.is_admin(user_id):
            raise PermissionDeniedError(
                f"Only workspace admins can {action}.",
                hint="Ask an admin, or have your user id added to membot's admin list.",
            )

    async def _info(self, user_id: str) -> dict[str, Any]:
        try:
            resp = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            _log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
            return {}
        user = resp.get("user")
        return user if isinstance(user, dict) else {}
