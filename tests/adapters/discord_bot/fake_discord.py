"""A strict fake of the parts of Discord's REST API and CDN the bot uses, on loopback.

It answers like Discord does (status codes and error JSON), keeps what the bot
posted, and lets tests wait for a condition instead of sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

API = "/api/v10"
LIMIT = 2000


def json_response(body: Any, status: int = 200) -> web.Response:
    """JSON exactly as Discord labels it (discord.py checks the bare content type)."""
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def error(
    status: int, code: int, message: str, errors: dict[str, Any] | None = None
) -> web.Response:
    """A Discord error response."""
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return json_response(body, status=status)


def too_long(field_name: str, size: int) -> web.Response:
    """Discord's answer to a message over 2000 characters."""
    return error(
        400,
        50035,
        "Invalid Form Body",
        {
            field_name: {
                "_errors": [
                    {
                        "code": "BASE_TYPE_MAX_LENGTH",
                        "message": f"Must be {LIMIT} or fewer in length. ({size})",
                    }
                ]
            }
        },
    )


@dataclass
class InteractionRecord:
    """What the bot did with one interaction."""

    id: int
    token: str
    channel_id: int
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None
    original_edits: list[str] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    message: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The visible text of the original response, as it is now."""
        return (self.original or {}).get("content") or ""

    @property
    def ephemeral(self) -> bool:
        """Whether the first response was ephemeral (flag 64)."""
        data = self.callbacks[0].get("data") or {} if self.callbacks else {}
        return bool(int(data.get("flags", 0)) & 64)


class FakeDiscord:
    """The fake REST server. Start with ``await fake.start()``; ``base`` is its API URL."""

    def __init__(self, token: str, bot_user: dict[str, Any], application_id: int) -> None:
        self.token = token
        self.bot_user = bot_user
        self.application_id = application_id
        self.channels: dict[int, int | None] = {}  # channel id -> guild id (None: DM)
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self.seen_messages: set[int] = set()  # user messages the bot may reference
        self.interactions: dict[int, InteractionRecord] = {}
        self.commands: list[dict[str, Any]] = []
        self.command_puts = 0
        self.typing: list[int] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self.rejections: list[tuple[str, int, dict[str, Any]]] = []
        self.requests: list[tuple[str, str]] = []
        self._ids = itertools.count(1_300_000_000_000_000_000)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- test-side API -------------------------------------------------------------

    def new_id(self) -> int:
        """A fresh snowflake."""
        return next(self._ids)

    def add_channel(self, channel_id: int, guild_id: int | None) -> None:
        """Make a channel known (the bot may post there)."""
        self.channels[channel_id] = guild_id
        self.messages.setdefault(channel_id, [])

    def add_file(self, name: str, data: bytes, content_type: str) -> str:
        """Serve ``data`` from the fake CDN; returns its URL."""
        key = f"{self.new_id()}/{name}"
        self.files[key] = (data, content_type)
        return f"{self.url}/attachments/{key}"

    def add_interaction(
        self,
        interaction_id: int,
        token: str,
        channel_id: int,
        message: dict[str, Any] | None = None,
    ) -> InteractionRecord:
        """Expect an interaction (Discord only accepts callbacks for interactions it sent).

        ``message`` is the message a clicked component sits on (the very dict kept in
        another record, so updates show there too).
        """
        record = InteractionRecord(interaction_id, token, channel_id, message=message)
        self.interactions[interaction_id] = record
        return record

    def posted(self, channel_id: int) -> list[str]:
        """Texts the bot posted in a channel, oldest first (edits applied)."""
        return [m["content"] for m in self.messages.get(channel_id, [])]

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds (re-checked after every request; 30 s at most)."""
        async with asyncio.timeout(30), self._changed:
            await self._changed.wait_for(predicate)

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/attachments/{key:.+}", self._cdn)
        r.add_get(f"{API}/users/@me", self._me)
        r.add_get(f"{API}/oauth2/applications/@me", self._app_info)
        r.add_post(API + "/channels/{cid}/messages", self._create_message)
        r.add_patch(API + "/channels/{cid}/messages/{mid}", self._edit_message)
        r.add_post(API + "/channels/{cid}/typing", self._typing)
        r.add_get(API + "/applications/{app}/commands", self._get_commands)
        r.add_put(API + "/applications/{app}/commands", self._put_commands)
        r.add_get(API + "/applications/{app}/guilds/{gid}/commands", self._get_commands)
        r.add_put(API + "/applications/{app}/guilds/{gid}/commands", self._put_commands)
        r.add_post(API + "/interactions/{iid}/{token}/callback", self._callback)
        r.add_patch(API + "/webhooks/{app}/{token}/messages/@original", self._edit_original)
        r.add_post(API + "/webhooks/{app}/{token}", self._followup)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- plumbing ------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        needs_auth = request.path.startswith(API) and not request.path.startswith(
            (f"{API}/interactions/", f"{API}/webhooks/")
        )
        if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
            response: web.StreamResponse = error(401, 0, "401: Unauthorized")
        else:
            try:
                response = await handler(request)
            except web.HTTPNotFound:
                response = error(404, 0, "404: Not Found")
            except web.HTTPMethodNotAllowed:
                response = error(405, 0, "405: Method Not Allowed")
        if response.status >= 400 and isinstance(response, web.Response) and response.text:
            self.rejections.append((request.path, response.status, json.loads(response.text)))
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _payload(self, request: web.Request) -> dict[str, Any]:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            return dict(json.loads(str(form["payload_json"])))
        if not request.can_read_body:
            return {}
        return dict(await request.json())

    def _message(self, channel_id: int, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        msg = {
            "id": str(self.new_id()),
            "channel_id": str(channel_id),
            "author": self.bot_user,
            "content": payload.get("content") or "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "type": 19 if payload.get("message_reference") else 0,
            "flags": int(payload.get("flags") or 0),
            "allowed_mentions": payload.get("allowed_mentions"),
            **extra,
        }
        if payload.get("message_reference"):
            msg["message_reference"] = payload["message_reference"]
        guild_id = self.channels.get(channel_id)
        if guild_id is not None:
            msg["guild_id"] = str(guild_id)
        return msg

    def _check_content(self, payload: dict[str, Any], *, creating: bool) -> web.Response | None:
        content = payload.get("content")
        if content is not None and len(content) > LIMIT:
            return too_long("content", len(content))
        if creating and not content and not payload.get("embeds") and not payload.get("components"):
            return error(400, 50006, "Cannot send an empty message")
        return None

    # ---- handlers ------------------------------------------------------------------

    async def _cdn(self, request: web.Request) -> web.Response:
        item = self.files.get(request.match_info["key"])
        if item is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=item[0], content_type=item[1])

    async def _me(self, request: web.Request) -> web.Response:
        return json_response(self.bot_user)

    async def _app_info(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": str(self.application_id),
                "name": "membot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.bot_user,
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
                "team": None,
                "interactions_endpoint_url": None,
            }
        )

    async def _create_message(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["cid"])
        if cid not in self.channels:
            return error(404, 10003, "Unknown Channel")
        payload = await self._payload(request)
        if (bad := self._check_content(payload, creating=True)) is not None:
            return bad
        ref = payload.get("message_reference")
        if ref and int(ref["message_id"]) not in self.seen_messages | self._ids_in(cid):
            if ref.get("fail_if_not_exists") is False:
                payload = {k: v for k, v in payload.items() if k != "message_reference"}
            else:
                return error(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "message_reference": {
                            "_errors": [
                                {
                                    "code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                    "message": "Unknown message",
                                }
                            ]
                        }
                    },
                )
        msg = self._message(cid, payload)
        self.messages[cid].append(msg)
        return json_response(msg)

    def _ids_in(self, cid: int) -> set[int]:
        return {int(m["id"]) for m in self.messages.get(cid, [])}

    async def _edit_message(self, request: web.Request) -> web.Response:
        cid, mid = int(request.match_info["cid"]), int(request.match_info["mid"])
        found = [m for m in self.messages.get(cid, []) if int(m["id"]) == mid]
        if not found:
            return error(404, 10008, "Unknown Message")
        payload = await self._payload(request)
        if (bad := self._check_content(payload, creating=False)) is not None:
            return bad
        msg = found[0]
        self._apply(msg, payload)
        return json_response(msg)

    @staticmethod
    def _apply(msg: dict[str, Any], payload: dict[str, Any]) -> None:
        """Apply an edit to a stored message."""
        for key in ("content", "embeds", "components"):
            if key in payload:
                empty: Any = "" if key == "content" else []
                msg[key] = payload[key] if payload[key] is not None else empty
        msg["edited_timestamp"] = datetime.now(UTC).isoformat()
        msg["edits"] = msg.get("edits", 0) + 1

    async def _typing(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["cid"])
        if cid not in self.channels:
            return error(404, 10003, "Unknown Channel")
        self.typing.append(cid)
        return web.Response(status=204)

    async def _get_commands(self, request: web.Request) -> web.Response:
        if int(request.match_info["app"]) != self.application_id:
            return error(403, 50001, "Missing Access")
        return json_response(self.commands)

    async def _put_commands(self, request: web.Request) -> web.Response:
        if int(request.match_info["app"]) != self.application_id:
            return error(403, 50001, "Missing Access")
        body = await request.json()
        if not isinstance(body, list) or len(body) > 100:
            return error(400, 50035, "Invalid Form Body")
        for cmd in body:
            if not cmd.get("name") or len(cmd.get("description", "")) > 100:
                return error(400, 50035, "Invalid Form Body")
        self.command_puts += 1
        self.commands = [
            {
                **cmd,
                "id": str(self.new_id()),
                "application_id": str(self.application_id),
                "version": str(self.new_id()),
                "default_member_permissions": None,
                "type": cmd.get("type", 1),
            }
            for cmd in body
        ]
        return json_response(self.commands)

    async def _callback(self, request: web.Request) -> web.Response:
        record = self.interactions.get(int(request.match_info["iid"]))
        if record is None or record.token != request.match_info["token"]:
            return error(404, 10062, "Unknown interaction")
        if record.callbacks:
            return error(400, 40060, "Interaction has already been acknowledged.")
        payload = await self._payload(request)
        data = payload.get("data") or {}
        if (bad := self._check_content(data, creating=False)) is not None:
            return bad
        record.callbacks.append(payload)
        kind = payload["type"]
        if kind in (4, 5):
            record.original = self._message(record.channel_id, data, interaction_id=str(record.id))
        elif kind in (6, 7):
            if record.message is None:
                return error(400, 50035, "Invalid Form Body")  # no message to update
            record.original = record.message
            self._apply(record.original, data)
        body: dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": 2,
                "response_message_id": record.original["id"] if record.original else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags", 0)) & 64),
            }
        }
        if record.original is not None and kind in (4, 7):
            body["resource"] = {"type": kind, "message": record.original}
        return json_response(body)

    def _by_token(self, request: web.Request) -> InteractionRecord | None:
        if int(request.match_info["app"]) != self.application_id:
            return None
        token = request.match_info["token"]
        return next((r for r in self.interactions.values() if r.token == token), None)

    async def _edit_original(self, request: web.Request) -> web.Response:
        record = self._by_token(request)
        if record is None:
            return error(404, 10015, "Unknown Webhook")
        if record.original is None:
            return error(404, 10008, "Unknown Message")
        payload = await self._payload(request)
        if (bad := self._check_content(payload, creating=False)) is not None:
            return bad
        self._apply(record.original, payload)
        record.original_edits.append(record.original.get("content") or "")
        return json_response(record.original)

    async def _followup(self, request: web.Request) -> web.Response:
        record = self._by_token(request)
        if record is None:
            return error(404, 10015, "Unknown Webhook")
        if not record.callbacks:
            return error(400, 40060, "Interaction has not been acknowledged.")
        payload = await self._payload(request)
        if (bad := self._check_content(payload, creating=True)) is not None:
            return bad
        msg = self._message(record.channel_id, payload)
        record.followups.append(msg)
        return json_response(msg)
