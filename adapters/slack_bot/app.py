"""The Slack bot: a Bolt async app whose listeners ack at once and work in the background."""

from __future__ import annotations

import functools
import logging
import re
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.commands import error_text
from adapters.slack_bot.blocks import ATTACH_ACTION, DETACH_ACTION, FORGET_ACTION
from adapters.slack_bot.loading import ingest_shared_files
from adapters.slack_bot.people import People
from adapters.slack_bot.replies import ReplyPoster
from adapters.slack_bot.routing import (
    Route,
    conversation_for,
    conversation_for_command,
    is_shared,
    route_event,
)
from adapters.slack_bot.settings import COMMAND_VERBS, SlackSettings
from adapters.slack_bot.slash import NO_THREAD_AGENT, Respond, SlashCommands
from adapters.slack_bot.tasks import BackgroundTasks
from adapters.slack_bot.threads import ThreadTracker
from agent_core.domain import IncomingMessage, Reply, Speaker
from agent_core.errors import ConfigError

if TYPE_CHECKING:
    from agent_core.engine import Engine

_log = logging.getLogger(__name__)

_ATTACH_ID = re.compile(rf"^{ATTACH_ACTION}(:\d+)?$")


class SlackBot:
    """Slack events, slash commands and buttons, translated into engine calls.

    Every listener acks at once (Slack wants an answer within 3 s) and runs the work as
    a named background task; ``aclose`` lets in-flight work finish. Events are
    deduplicated persistently through ``Engine.claim_event``: by event id (Slack's
    retries) and by message (the ``app_mention`` + ``message`` double delivery).

    Args:
        engine: the opened engine.
        settings: the adapter's settings.
        bot_token: the bot token (``xoxb-``).
        signing_secret: HTTP mode: the app's signing secret; requests that are not
            signed with it are refused (401). Not needed in Socket Mode.
    """

    def __init__(
        self,
        engine: Engine,
        settings: SlackSettings,
        *,
        bot_token: str,
        signing_secret: str | None = None,
    ) -> None:
        if not bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token (xoxb-...)", key="bot_token")
        self.engine = engine
        self.settings = settings
        self._token = bot_token
        self.client = AsyncWebClient(token=bot_token, base_url=settings.web_api_url)
        self.app = AsyncApp(name="membot", client=self.client, signing_secret=signing_secret or "")
        self.tasks = BackgroundTasks()
        self.people = People(self.client, settings.admin_user_ids)
        self.commands = SlashCommands(engine, settings, self.people)
        self.threads = ThreadTracker(self.client)
        self._http: aiohttp.ClientSession | None = None
        self._register()

    def _register(self) -> None:
        self.app.event("app_mention")(self._on_event)
        self.app.event("message")(self._on_event)
        for verb in COMMAND_VERBS:
            self.app.command(self.settings.command(verb))(self._command_listener(verb))
        self.app.action(_ATTACH_ID)(self._on_button)
        self.app.action(DETACH_ACTION)(self._on_button)
        self.app.action(FORGET_ACTION)(self._on_button)

    async def drain(self) -> None:
        """Wait until all background work (turns, loads, command answers) is done."""
        await self.tasks.drain()

    async def aclose(self) -> None:
        """Stop taking work, let in-flight work finish, close the HTTP sessions."""
        await self.tasks.aclose()
        if self._http is not None:
            await self._http.close()

    # -- events ---------------------------------------------------------------------------

    async def _on_event(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        bot_user_id = str(context.bot_user_id or "")
        name = f"slack-event-{body.get('event_id', '?')}"
        self.tasks.spawn(name, self.process_event(body, bot_user_id))

    async def process_event(self, body: dict[str, Any], bot_user_id: str) -> None:
        """Deduplicate, route and run one Events API delivery."""
        event_id = str(body.get("event_id") or "")
        if event_id and not await self.engine.claim_event("slack-event", event_id):
            _log.info("ignored a repeated delivery of event %s", event_id)
            return
        check = functools.partial(self.threads.engaged, bot_user_id=bot_user_id)
        route = await route_event(body, bot_user_id, self.settings, check)
        if route is None:
            return
        if not await self.engine.claim_event(f"slack-{route.kind}", route.place.message_key):
            _log.info("message %s already handled", route.place.message_key)
            return
        if route.kind == "chat":
            await self._chat(route)
        else:
            await ingest_shared_files(
                self.engine,
                self.client,
                await self._session(),
                route,
                token=self._token,
                max_bytes=self.settings.max_file_bytes,
                interval=self.settings.edit_interval,
            )

    async def _chat(self, route: Route) -> None:
        place = route.place
        speaker = None
        if is_shared(self.settings, place.channel):
            speaker = Speaker(place.user, await self.people.name(place.user))
        message = IncomingMessage(
            conversation_for(place, self.settings),
            route.text,
            speaker,
            message_id=f"slack:{place.message_key}",
        )
        poster = ReplyPoster(
            self.client, place.channel, place.reply_ts, self.settings.max_message_chars
        )
        await poster.start()
        if place.reply_ts and not place.is_dm:
            self.threads.mark(place.channel, place.reply_ts)
        try:
            await self.engine.handle(message, on_reply=poster.send)
        except Exception as exc:  # the user sees a readable error; error_text logs the rest
            await poster.send(Reply(error_text(exc), "error"))
        finally:
            await poster.finish()

    async def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300))
        return self._http

    # -- commands and buttons -------------------------------------------------------------

    def _command_listener(self, verb: str) -> Any:
        async def listener(ack: Any, command: dict[str, Any], respond: Respond) -> None:
            await ack()
            self.tasks.spawn(f"slack-command-{verb}", self.commands.run(verb, command, respond))

        listener.__name__ = f"command_{verb.replace('-', '_')}"
        return listener

    async def _on_button(self, ack: Any, body: dict[str, Any], respond: Respond) -> None:
        await ack()
        self.tasks.spawn("slack-button", self._button(body, respond))

    async def _button(self, body: dict[str, Any], respond: Respond) -> None:
        action = (body.get("actions") or [{}])[0]
        action_id, value = str(action.get("action_id", "")), str(action.get("value", ""))
        p = {
            "team_id": str((body.get("team") or {}).get("id", "")),
            "user_id": str((body.get("user") or {}).get("id", "")),
            "channel_id": str((body.get("channel") or {}).get("id", "")),
        }
        conv = conversation_for_command(p["team_id"], p["user_id"], p["channel_id"], self.settings)
        try:
            if conv is None:
                await respond(
                    response_type="ephemeral", replace_original=False, text=NO_THREAD_AGENT
                )
            elif action_id == FORGET_ACTION:
                await respond(replace_original=True, **await self.commands.forget(conv, p))
            elif action_id in (ATTACH_ACTION, DETACH_ACTION):
                await self.commands.attach(conv, value, attach=action_id == ATTACH_ACTION)
                await respond(replace_original=True, **await self.commands.sources_answer(conv))
            else:
                answer = await self.commands.attach(conv, value, attach=True)
                await respond(response_type="ephemeral", replace_original=False, **answer)
        except Exception as exc:  # shown to the clicker; error_text logs unexpected ones
            text = f":warning: {error_text(exc)}"
            await respond(response_type="ephemeral", replace_original=False, text=text)
