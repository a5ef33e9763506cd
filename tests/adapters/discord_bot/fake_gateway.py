"""A fake Discord gateway (websocket, zlib-stream) for running the real client loop offline.

It speaks the gateway protocol discord.py uses: HELLO, heartbeats, IDENTIFY (checking
the token and that the Message Content intent is requested, closing with 4014
otherwise, as Discord does), READY + GUILD_CREATE, dispatches with sequence numbers,
RECONNECT and RESUME with replay.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import zlib
from typing import Any

from aiohttp import web

MESSAGE_CONTENT = 1 << 15


class FakeGateway:
    """Serve one bot session at ``url``; tests push events with ``dispatch``."""

    def __init__(self, token: str, ready: dict[str, Any], guilds: list[dict[str, Any]]) -> None:
        self.token = token
        self.ready = ready
        self.guilds = guilds
        self.session_id = ""
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.identifies = 0
        self.resumes = 0
        self.rewind = 0
        self.connected = asyncio.Event()
        self._ws: web.WebSocketResponse | None = None
        self._zlib: Any = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_get("/", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/"

    async def close(self) -> None:
        """Stop listening (closing any open socket)."""
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch (kept for replay on resume)."""
        seq = len(self.events) + 1
        self.events.append((seq, event, data))
        if self._ws is not None and not self._ws.closed:
            await self._send({"op": 0, "t": event, "s": seq, "d": data})

    async def request_reconnect(self, rewind: int = 0) -> None:
        """Ask the client to reconnect (op 7); on resume, re-send ``rewind`` events it had."""
        self.rewind = rewind
        self.connected.clear()
        await self._send({"op": 7, "d": None})

    async def _send(self, payload: dict[str, Any]) -> None:
        assert self._ws is not None
        raw = json.dumps(payload).encode()
        if self._zlib is None:
            await self._ws.send_str(raw.decode())
        else:
            await self._ws.send_bytes(
                self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
            )

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        compressed = request.query.get("compress") == "zlib-stream"
        self._zlib = zlib.compressobj() if compressed else None
        await self._send({"op": 10, "d": {"heartbeat_interval": 41250}})
        async for msg in ws:
            payload = json.loads(msg.data)
            await self._receive(ws, payload["op"], payload.get("d"))
        return ws

    async def _receive(self, ws: web.WebSocketResponse, op: int, data: Any) -> None:
        if op == 1:
            await self._send({"op": 11})
        elif op == 2:
            await self._identify(ws, data)
        elif op == 6:
            await self._resume(data)

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if not int(data.get("intents", 0)) & MESSAGE_CONTENT:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.identifies += 1
        self.session_id = uuid.uuid4().hex
        self.events = []
        ready = {**self.ready, "session_id": self.session_id, "resume_gateway_url": self.url}
        await self.dispatch("READY", ready)
        for guild in self.guilds:
            await self.dispatch("GUILD_CREATE", guild)
        self.connected.set()

    async def _resume(self, data: dict[str, Any]) -> None:
        if data.get("session_id") != self.session_id or data.get("token") != self.token:
            await self._send({"op": 9, "d": False})
            return
        self.resumes += 1
        start = max(0, int(data.get("seq") or 0) - self.rewind)
        for seq, event, payload in self.events[start:]:
            await self._send({"op": 0, "t": event, "s": seq, "d": payload})
        seq = len(self.events) + 1
        self.events.append((seq, "RESUMED", {}))
        await self._send({"op": 0, "t": "RESUMED", "s": seq, "d": {}})
        self.connected.set()
