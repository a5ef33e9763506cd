"""Slash commands and buttons: one command per engine verb, answers only the caller sees."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from adapters.commands import error_text, help_text, render_memory, render_sources
from adapters.slack_bot.blocks import forget_confirm_blocks, sources_blocks
from adapters.slack_bot.mrkdwn import escape, split_mrkdwn, to_mrkdwn
from adapters.slack_bot.people import People
from adapters.slack_bot.routing import conversation_for_command, is_shared
from adapters.slack_bot.settings import SlackSettings
from agent_core.domain import ConversationKey
from agent_core.errors import MembotError

if TYPE_CHECKING:
    from agent_core.engine import Engine

_log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]
Answer = dict[str, Any]

NO_THREAD_AGENT = (
    "Here every thread has its own agent, and Slack does not allow commands inside "
    "threads, so this command cannot reach one. Use it in a direct message with me."
)


class SlashCommands:
    """Runs ``/attach``, ``/detach``, ``/sources``, ``/memory``, ``/reset``, ``/forget``,
    ``/delete-source`` and ``/membot-help`` (names carry the configured prefix), and
    the Attach/Detach/Forget buttons.
    """

    def __init__(self, engine: Engine, settings: SlackSettings, people: People) -> None:
        self._engine = engine
        self._settings = settings
        self._people = people

    async def run(self, verb: str, payload: dict[str, Any], respond: Respond) -> None:
        """Run one command and answer through its ``response_url`` (ephemeral)."""
        try:
            answers = await self._dispatch(verb, payload)
        except Exception as exc:  # every failure becomes a readable answer; error_text logs
            if not isinstance(exc, MembotError):
                _log.error("command %s failed", verb, exc_info=exc)
            answers = [{"text": f":warning: {to_mrkdwn(error_text(exc))}"}]
        for answer in answers:
            await respond(response_type="ephemeral", **answer)

    async def _dispatch(self, verb: str, p: dict[str, Any]) -> list[Answer]:
        arg = str(p.get("text") or "").strip()
        if verb == "membot-help":
            return _texts(self.help())
        if verb == "delete-source":
            return [await self._delete_source(str(p["team_id"]), str(p["user_id"]), arg)]
        conv = self._conversation(p)
        if conv is None:
            return _texts(NO_THREAD_AGENT)
        if verb == "memory":
            return _texts(to_mrkdwn(render_memory(await self._engine.memory(conv))))
        if verb == "sources":
            return [await self.sources_answer(conv)]
        if verb in ("attach", "detach"):
            return [await self.attach(conv, arg, attach=verb == "attach")]
        if verb == "reset":
            return [await self._reset(conv, p)]
        if verb == "forget":
            await self._check_shared(p, "forget a shared agent")
            label = "this channel's" if is_shared(self._settings, str(p["channel_id"])) else "your"
            return [{"text": "Forget everything?", "blocks": forget_confirm_blocks(label)}]
        raise ValueError(f"unknown command verb {verb!r}")

    def _conversation(self, p: dict[str, Any]) -> ConversationKey | None:
        return conversation_for_command(
            str(p["team_id"]), str(p["user_id"]), str(p["channel_id"]), self._settings
        )

    def help(self) -> str:
        """The help text with this installation's command names."""
        prefix = f"/{self._settings.command_prefix}"
        verbs = ["memory", "sources", "attach", "detach", "reset", "forget"]
        lines = [
            to_mrkdwn(help_text(prefix, only=verbs)),
            f"`{self._settings.command('delete-source')} NAME`: delete a source (admins)",
            f"`{self._settings.command('membot-help')}`: this help",
            "Write to me in a DM, or mention me in a channel and keep talking in that thread. "
            "Share a PDF, text or Markdown file and it becomes a source.",
        ]
        return "\n".join(lines)

    async def sources_answer(self, conv: ConversationKey) -> Answer:
        """The ``/sources`` list with Attach/Detach buttons."""
        sources = await self._engine.sources(conv.workspace)
        attached = {s.name for s in await self._engine.attached(conv)}
        blocks = sources_blocks(sources, attached, self._settings.command("attach"))
        fallback = to_mrkdwn(render_sources(sources, attached))
        return {"text": fallback[:3000], "blocks": blocks}

    async def attach(self, conv: ConversationKey, name: str, *, attach: bool) -> Answer:
        """Attach or detach source ``name`` to the agent of ``conv``."""
        verb = "attach" if attach else "detach"
        if not name:
            return {"text": f"Usage: `{self._settings.command(verb)} NAME` (see `/sources`)."}
        if attach:
            source = await self._engine.attach(conv, name)
            return {"text": f"Attached *{escape(source.name)}*: your agent will search it."}
        source = await self._engine.detach(conv, name)
        return {"text": f"Detached *{escape(source.name)}*."}

    async def forget(self, conv: ConversationKey, p: dict[str, Any]) -> Answer:
        """Delete everything the agent of ``conv`` holds (after the confirmation)."""
        await self._check_shared(p, "forget a shared agent")
        await self._engine.forget(conv)
        return {"text": "Done: every message and memory of this agent is deleted."}

    async def _reset(self, conv: ConversationKey, p: dict[str, Any]) -> Answer:
        await self._check_shared(p, "reset a shared agent")
        await self._engine.reset(conv)
        return {"text": "Started a fresh agent. The old conversation stays stored."}

    async def _delete_source(self, team: str, user: str, name: str) -> Answer:
        if not name:
            return {"text": f"Usage: `{self._settings.command('delete-source')} NAME`."}
        await self._people.require_admin(user, "delete sources")
        source = await self._engine.delete_source(team, name)
        _log.info("user %s deleted source %s of %s", user, source.id, team)
        return {"text": f"Deleted source *{escape(source.name)}* and its passages."}

    async def _check_shared(self, p: dict[str, Any], action: str) -> None:
        if is_shared(self._settings, str(p["channel_id"])):
            await self._people.require_admin(str(p["user_id"]), action)


def _texts(text: str) -> list[Answer]:
    return [{"text": chunk} for chunk in split_mrkdwn(text)]
