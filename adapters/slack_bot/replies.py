"""Posting an agent's replies: a placeholder while it works, then the answer, split."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_bot.mrkdwn import split_mrkdwn, to_mrkdwn
from agent_core.domain import Reply

_log = logging.getLogger(__name__)

PLACEHOLDER = "_Thinking…_"


def reply_text(reply: Reply) -> str:
    """The mrkdwn shown for a reply: errors get a warning sign, notices are set apart."""
    text = to_mrkdwn(reply.text)
    if reply.kind == "error":
        return f":warning: {text}"
    if reply.kind == "notice":
        return f":information_source: {text}"
    return text


class ReplyPoster:
    """Shows a placeholder in the conversation and turns it into the agent's answer.

    The first chunk of the first reply replaces the placeholder (``chat.update``); every
    further chunk or reply is posted after it in the same thread. When ``chat.update``
    fails with ``msg_too_long`` the text is re-split smaller and posted instead.
    """

    def __init__(
        self, client: AsyncWebClient, channel: str, thread_ts: str | None, limit: int
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._limit = limit
        self._placeholder: str | None = None
        self.posted: list[str] = []

    async def start(self, text: str = PLACEHOLDER) -> None:
        """Post the placeholder."""
        resp = await self._client.chat_postMessage(
            channel=self._channel, thread_ts=self._thread_ts, text=text
        )
        self._placeholder = str(resp["ts"])

    async def send(self, reply: Reply) -> None:
        """Show one reply (the engine's ``on_reply`` callback)."""
        await self.send_text(reply_text(reply))

    async def send_text(self, text: str) -> None:
        """Show mrkdwn text, split under the message limit."""
        chunks = split_mrkdwn(text, self._limit)
        if not chunks:
            return
        if self._placeholder is not None:
            ts, self._placeholder = self._placeholder, None
            if await self._replace(ts, chunks[0]):
                chunks.pop(0)
            else:
                chunks = split_mrkdwn(chunks[0], self._limit // 2) + chunks[1:]
                if await self._replace(ts, chunks[0]):
                    chunks.pop(0)
                else:
                    self._placeholder = ts
                    await self.finish()
        for chunk in chunks:
            await self._post(chunk)

    async def finish(self) -> None:
        """Remove the placeholder if nothing replaced it (the agent stayed silent)."""
        if self._placeholder is None:
            return
        ts, self._placeholder = self._placeholder, None
        try:
            await self._client.chat_delete(channel=self._channel, ts=ts)
        except SlackApiError as exc:
            _log.warning("could not delete placeholder in %s: %s", self._channel, _error(exc))

    async def _replace(self, ts: str, text: str) -> bool:
        try:
            await self._client.chat_update(channel=self._channel, ts=ts, text=text)
        except SlackApiError as exc:
            if _error(exc) != "msg_too_long":
                raise
            _log.info(
                "chat.update refused %d chars in %s; posting instead", len(text), self._channel
            )
            return False
        self.posted.append(ts)
        return True

    async def _post(self, text: str) -> None:
        resp = await self._client.chat_postMessage(
            channel=self._channel, thread_ts=self._thread_ts, text=text
        )
        self.posted.append(str(resp["ts"]))


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""
