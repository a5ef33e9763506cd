"""A strict local fake of the Slack Web API, file downloads, response URLs and Socket Mode.

It answers like Slack does (``{"ok": false, "error": ...}`` with HTTP 200) and refuses
what Slack refuses: unknown methods, missing or wrong tokens, over-long text, invalid
blocks, unknown messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
POST_TEXT_LIMIT = 40_000  # chat.postMessage: Slack's documented text limit
UPDATE_TEXT_LIMIT = 4_000  # chat.update: fails with msg_too_long around 4k in practice
_BLOCK_TYPES = {"section", "divider", "actions", "context", "header", "image", "rich_text"}


@dataclass
class Posted:
    """A message in the fake workspace."""

    channel: str
    ts: str
    text: str
    user: str
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] | None = None
    edits: int = 0
    deleted: bool = False


@dataclass
class ApiCall:
    """One Web API request the fake accepted or refused."""

    method: str
    params: dict[str, Any]
    error: str | None = None


@dataclass
class FakeFile:
    """A file served at ``url_private_download``."""

    data: bytes
    content_type: str
    login_page: bool = False  # answer with the login page as without files:read


@dataclass
class FakeSlack:
    """The fake server; ``await start()``, then point ``AsyncWebClient`` at ``api_url``."""

    bot_token: str = "xoxb-test-bot-token"
    app_token: str = "xapp-test-app-token"
    team: str = "T0TEAM"
    bot_user: str = "UBOT"
    bot_id: str = "BBOT"
    update_limit: int = UPDATE_TEXT_LIMIT
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, FakeFile] = field(default_factory=dict)
    calls: list[ApiCall] = field(default_factory=list)
    messages: list[Posted] = field(default_factory=list)
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    base: str = ""

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.connected = asyncio.Event()
        self._changed = asyncio.Condition()

    async def wait_until(self, predicate: Any) -> None:
        """Wait until ``predicate()`` holds; checked after every request the fake answers."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files-pri/{path:.*}", self._file)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"

    async def aclose(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    # -- helpers for tests ----------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, admin: bool = False) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": name.lower(),
            "is_admin": admin,
            "profile": {"display_name": name, "real_name": name},
        }

    def add_message(
        self, channel: str, ts: str, text: str, user: str, thread_ts: str | None = None
    ):
        self.messages.append(Posted(channel, ts, text, user, thread_ts))

    def add_file(self, file_id: str, name: str, data: bytes, content_type: str, **kw: Any) -> dict:
        """Serve a file; returns the file object a ``file_share`` event carries."""
        path = f"{self.team}-{file_id}/{name}"
        self.files[path] = FakeFile(data, content_type, **kw)
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": content_type,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(data),
            "mode": "hosted",
            "url_private": f"{self.base}/files-pri/{path}",
            "url_private_download": f"{self.base}/files-pri/{path}?download=1",
        }

    def response_url(self) -> tuple[str, str]:
        rid = uuid.uuid4().hex[:10]
        self.responses[rid] = []
        return rid, f"{self.base}/response/{rid}"

    def bot_messages(self, channel: str | None = None) -> list[Posted]:
        return [
            m
            for m in self.messages
            if m.user == self.bot_user and not m.deleted and channel in (None, m.channel)
        ]

    def errors(self) -> list[ApiCall]:
        return [c for c in self.calls if c.error]

    # -- Web API --------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._fail(method, params, "unknown_method")
        token = _token(request, params)
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            return self._fail(method, params, "not_authed")
        if not hmac.compare_digest(token, expected):
            return self._fail(method, params, "invalid_auth")
        result = handler(params)
        if "error" in result:
            return self._fail(method, params, result["error"])
        self.calls.append(ApiCall(method, params))
        await self._notify()
        return web.json_response({"ok": True, **result})

    def _fail(self, method: str, params: dict[str, Any], error: str) -> web.Response:
        self.calls.append(ApiCall(method, params, error))
        return web.json_response({"ok": False, "error": error})

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://test.slack.com/",
            "team": "Test",
            "user": "membot",
            "team_id": self.team,
            "user_id": self.bot_user,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        text, blocks = str(p.get("text") or ""), _blocks(p)
        if not p.get("channel"):
            return {"error": "channel_not_found"}
        if not text and not blocks:
            return {"error": "no_text"}
        if len(text) > POST_TEXT_LIMIT:
            return {"error": "msg_too_long"}
        if blocks is not None and _invalid_blocks(blocks):
            return {"error": "invalid_blocks"}
        ts = f"{1_700_000_000 + next(self._ts)}.000100"
        thread = p.get("thread_ts") or None
        self.messages.append(Posted(p["channel"], ts, text, self.bot_user, thread, blocks))
        return {"channel": p["channel"], "ts": ts, "message": {"text": text, "ts": ts}}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._find(p)
        text, blocks = str(p.get("text") or ""), _blocks(p)
        if msg is None:
            return {"error": "message_not_found"}
        if msg.user != self.bot_user:
            return {"error": "cant_update_message"}
        if len(text) > self.update_limit:
            return {"error": "msg_too_long"}
        if blocks is not None and _invalid_blocks(blocks):
            return {"error": "invalid_blocks"}
        msg.text, msg.blocks, msg.edits = text, blocks, msg.edits + 1
        return {"channel": msg.channel, "ts": msg.ts, "text": text}

    def _m_chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        msg = self._find(p)
        if msg is None:
            return {"error": "message_not_found"}
        msg.deleted = True
        return {"channel": msg.channel, "ts": msg.ts}

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p.get("user")))
        return {"user": user} if user else {"error": "user_not_found"}

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = p.get("channel"), p.get("ts")
        thread = [
            m
            for m in self.messages
            if m.channel == channel and (m.ts == ts or m.thread_ts == ts) and not m.deleted
        ]
        if not thread:
            return {"error": "thread_not_found"}
        thread.sort(key=lambda m: float(m.ts))
        limit = int(p.get("limit") or 1000)
        out = [{"user": m.user, "text": m.text, "ts": m.ts} for m in thread[:limit]]
        return {"messages": out, "has_more": len(thread) > limit}

    def _m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws{self.base[4:]}/link?ticket={uuid.uuid4().hex}"}

    def _find(self, p: dict[str, Any]) -> Posted | None:
        for m in self.messages:
            if m.channel == p.get("channel") and m.ts == p.get("ts") and not m.deleted:
                return m
        return None

    # -- files and response URLs ----------------------------------------------------------

    async def _file(self, request: web.Request) -> web.Response:
        f = self.files.get(request.match_info["path"])
        auth = request.headers.get("Authorization", "")
        if f is None:
            return web.Response(status=404, text="not found")
        if f.login_page or not hmac.compare_digest(auth, f"Bearer {self.bot_token}"):
            return web.Response(text=LOGIN_PAGE, content_type="text/html")
        return web.Response(body=f.data, content_type=f.content_type)

    async def _response(self, request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        if rid not in self.responses:
            return web.Response(status=404, text="expired_url")
        self.responses[rid].append(await request.json())
        await self._notify()
        return web.Response(text="ok")

    # -- Socket Mode ----------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                fut = self._acks.pop(str(data.get("envelope_id")), None)
                if fut is not None and not fut.done():
                    fut.set_result(data)
        return ws

    async def socket_send(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Deliver an envelope over the Socket Mode connection; returns the app's ack."""
        envelope_id = uuid.uuid4().hex
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = fut
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
        }
        await self._sockets[-1].send_json(envelope)
        return await fut


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update(dict(await request.post()))
    return params


def _token(request: web.Request, params: dict[str, Any]) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :]
    return str(params.get("token") or "")


def _blocks(p: dict[str, Any]) -> list[dict[str, Any]] | None:
    blocks = p.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return blocks


def _invalid_blocks(blocks: list[dict[str, Any]]) -> bool:
    if len(blocks) > 50:
        return True
    ids: list[str] = []
    for b in blocks:
        if b.get("type") not in _BLOCK_TYPES:
            return True
        if b.get("type") == "section" and len(b.get("text", {}).get("text", "")) > 3000:
            return True
        elements = b.get("elements", []) + ([b["accessory"]] if "accessory" in b else [])
        ids += [e["action_id"] for e in elements if "action_id" in e]
        if any(
            len(e.get("text", {}).get("text", "")) > 75
            for e in elements
            if e.get("type") == "button"
        ):
            return True
    return len(ids) != len(set(ids))


# -- signed requests to the app (HTTP mode) -------------------------------------------------


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's request signature: ``v0=`` HMAC-SHA256 of ``v0:{ts}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class SlackSender:
    """Sends signed Events API, slash command and interaction requests to the app."""

    url: str
    secret: str
    fake: FakeSlack

    async def post(
        self,
        body: str,
        content_type: str,
        headers: dict[str, str] | None = None,
        secret: str | None = None,
    ) -> tuple[int, str]:
        ts = str(int(time.time()))
        h = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret or self.secret, ts, body),
            **(headers or {}),
        }
        async with aiohttp.ClientSession() as s, s.post(self.url, data=body, headers=h) as r:
            return r.status, await r.text()

    def envelope(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "legacy",
            "team_id": self.fake.team,
            "api_app_id": "A0APP",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": self.fake.team, "user_id": self.fake.bot_user, "is_bot": True}
            ],
        }

    async def event(
        self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None
    ) -> tuple[int, str]:
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return await self.post(
            json.dumps(self.envelope(event, event_id)), "application/json", headers
        )

    async def command(
        self, name: str, text: str = "", user: str = "U1", channel: str = "D1"
    ) -> tuple[str, int]:
        """Send a slash command; returns the response URL id and the HTTP status."""
        rid, url = self.fake.response_url()
        form = {
            "token": "legacy",
            "team_id": self.fake.team,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": name,
            "text": text,
            "api_app_id": "A0APP",
            "response_url": url,
            "trigger_id": "1.2.3",
        }
        status, _ = await self.post(urlencode(form), "application/x-www-form-urlencoded")
        return rid, status

    async def click(
        self,
        action: dict[str, Any],
        user: str = "U1",
        channel: str = "D1",
        container_ts: str = "1.1",
    ) -> tuple[str, int]:
        """Click a button (a Block Kit element); returns the response URL id and the status."""
        rid, url = self.fake.response_url()
        payload = {
            "type": "block_actions",
            "team": {"id": self.fake.team, "domain": "test"},
            "user": {"id": user, "name": user.lower(), "team_id": self.fake.team},
            "api_app_id": "A0APP",
            "token": "legacy",
            "container": {"type": "message", "message_ts": container_ts, "channel_id": channel},
            "trigger_id": "1.2.3",
            "channel": {"id": channel, "name": "general"},
            "response_url": url,
            "actions": [{**action, "block_id": "b1", "action_ts": str(time.time())}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        status, _ = await self.post(body, "application/x-www-form-urlencoded")
        return rid, status
