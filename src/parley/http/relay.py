"""The node link: a follower hands a request to the leader and streams the leader's answer back.

Only the leader changes state (``services/cluster.py`` says why), so every request a follower
does not answer from its own view goes over this link. It carries the request as the gateway
left it (path cleaned, suffix split, method overridden) to the leader's application, and the
answer without the gateway's headers, which the follower's gateway then adds: one policy for
headers, applied once, on the node the client talks to.

Frames: 4 bytes of length, 1 byte of kind, then the payload. A connection carries one request
at a time and is reused; a client that goes away closes the link connection, which the leader
sees as the ASGI ``http.disconnect`` (a held long-poll is released there at once). The first
frame of a connection is the leader's current secret (from the store): only nodes that can read
the store can use the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

log = logging.getLogger("parley.relay")

HELLO, HEAD, BODY, END, ANSWER_HEAD, ANSWER_BODY, ANSWER_END, TOUCH = range(8)
_FRAME = struct.Struct(">IB")
# Frames above this are refused: a request body is capped far below it by the API's own limit.
MAX_FRAME = 16 * 1024 * 1024
# What of the scope crosses the link; the rest (the engine, the app) is the leader's own.
SCOPE_KEYS = (
    "type",
    "http_version",
    "method",
    "scheme",
    "path",
    "raw_path",
    "root_path",
    "query_string",
    "headers",
    "client",
    "server",
)
# The key of a relayed answer's start message that carries the chat version the leader sent
# (the follower's own wrapper takes it out before the message reaches the server).
VERSION = "parley.version"
# Idle connections kept per follower; more are opened under load and closed when they come back.
POOL_SIZE = 64


class LinkError(Exception):
    """The leader could not be reached (``sent`` False: the request never left, so it may be
    tried again) or broke the exchange after the request was sent (it may have been applied)."""

    def __init__(self, message: str, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


async def _write(writer: asyncio.StreamWriter, kind: int, payload: bytes = b"") -> None:
    writer.write(_FRAME.pack(len(payload), kind) + payload)
    await writer.drain()


async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    length, kind = _FRAME.unpack(await reader.readexactly(_FRAME.size))
    if length > MAX_FRAME:
        raise LinkError(f"frame of {length} bytes")
    return kind, await reader.readexactly(length) if length else b""


def _scope_out(scope: dict) -> bytes:
    head: dict[str, Any] = {key: scope[key] for key in SCOPE_KEYS if key in scope}
    head["headers"] = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in scope["headers"]]
    for key in ("raw_path", "query_string"):
        if isinstance(head.get(key), bytes):
            head[key] = head[key].decode("latin-1")
    head["format_suffix"] = (scope.get("state") or {}).get("format_suffix")
    return orjson.dumps(head)


def _scope_in(payload: bytes) -> dict:
    head = orjson.loads(payload)
    scope = {key: head[key] for key in SCOPE_KEYS if key in head}
    scope["headers"] = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in head["headers"]]
    for key in ("raw_path", "query_string"):
        if key in scope:
            scope[key] = scope[key].encode("latin-1")
    for key in ("client", "server"):
        if scope.get(key) is not None:
            scope[key] = tuple(scope[key])
    scope["state"] = {"format_suffix": head.get("format_suffix")}
    scope.setdefault("asgi", {"version": "3.0"})
    return scope


class RelayServer:
    """The leader's end: runs each relayed request through ``app`` (the application behind the gateway)."""

    def __init__(
        self,
        app: Callable,
        secret: str,
        on_touch: Callable[[list[str]], None],
        prepare: Callable[[dict], dict],
        version_of: Callable[[dict, dict], int | None] = lambda scope, start: None,
    ) -> None:
        self.app = app
        self.secret = secret
        self.on_touch = on_touch
        self.prepare = prepare  # adds the leader's own keys (the engine) to a relayed scope
        # The version of the chat an answer is about (scope, response start), sent with the head:
        # the follower then knows whether its view already holds the change.
        self.version_of = version_of
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            kind, payload = await _read(reader)
            if kind != HELLO or not hmac.compare_digest(payload, self.secret.encode()):
                return
            while True:
                kind, payload = await _read(reader)
                if kind == TOUCH:
                    self.on_touch(orjson.loads(payload))
                    await _write(writer, ANSWER_END)
                elif kind == HEAD:
                    await self._one(reader, writer, _scope_in(payload))
                else:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, LinkError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scope: dict) -> None:
        body = bytearray()
        while True:
            kind, payload = await _read(reader)
            if kind == END:
                break
            if kind != BODY:
                raise LinkError("expected a body frame")
            body += payload
        delivered = False
        finished = False
        gone = asyncio.Event()

        async def receive() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if gone.is_set():
                return  # nobody to tell: the application finishes as it would for a closed socket
            if message["type"] == "http.response.start":
                head = {
                    "status": message["status"],
                    "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in message.get("headers", ())],
                    "version": self.version_of(scope, message),
                }
                await _write(writer, ANSWER_HEAD, orjson.dumps(head))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await _write(writer, ANSWER_BODY, message["body"])
                if not message.get("more_body", False):
                    await _write(writer, ANSWER_END)
                    nonlocal finished
                    finished = True

        # Nothing may arrive on the connection while the request runs: bytes or EOF both mean
        # the follower's client went away (the follower closes the connection then).
        watch = asyncio.create_task(reader.read(1))
        watch.add_done_callback(lambda _: gone.set())
        try:
            await self.app(self.prepare(scope), receive, send)
        except Exception as exc:
            # The application's error handler answered (a 500 in the API's format, logged there)
            # and Starlette re-raises for the server: the connection stays usable when the answer
            # went out whole, else it is closed (the follower's client sees a cut-off answer).
            if not finished:
                raise ConnectionError("the relayed answer was cut short") from exc
            log.debug("relayed request failed after its answer: %s", exc)
        finally:
            if watch.done():
                raise ConnectionError("the relayed client went away")
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch


class RelayClient:
    """A follower's end: a pool of connections to the leader named by ``leader()`` (address, secret)."""

    def __init__(self, leader: Callable[[], Awaitable[tuple[str, str] | None]]) -> None:
        self._leader = leader
        self._idle: list[tuple[str, asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def _connect(self) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            address, reader, writer = self._idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return address, reader, writer
            writer.close()
        found = await self._leader()
        if found is None:
            raise LinkError("no leader")
        address, secret = found
        host, _, port = address.rpartition(":")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), 2)
        except (TimeoutError, OSError) as exc:
            raise LinkError(f"leader at {address} unreachable: {exc}") from exc
        await _write(writer, HELLO, secret.encode())
        return address, reader, writer

    def _give_back(self, address: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._idle) < POOL_SIZE:
            self._idle.append((address, reader, writer))
        else:
            writer.close()

    def forget(self) -> None:
        """The leader changed: its old connections are no use."""
        for _, _, writer in self._idle:
            writer.close()
        self._idle = []

    async def reachable(self) -> bool:
        """The leader's node link takes a connection now."""
        try:
            address, reader, writer = await self._connect()
        except (LinkError, OSError):
            return False
        self._give_back(address, reader, writer)
        return True

    async def touch(self, chat_ids: list[str]) -> None:
        address, reader, writer = await self._connect()
        try:
            await _write(writer, TOUCH, orjson.dumps(chat_ids))
            kind, _ = await _read(reader)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            writer.close()
            raise LinkError(str(exc)) from exc
        self._give_back(address, reader, writer)

    async def forward(self, scope: dict, body: bytes, receive: Callable, send: Callable) -> None:
        """Raises LinkError only before anything was sent to the client (so it can still be answered)."""
        address, reader, writer = await self._connect()
        try:
            await _write(writer, HEAD, _scope_out(scope))
            if body:
                await _write(writer, BODY, body)
            await _write(writer, END)
            kind, payload = await _read(reader)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            writer.close()
            raise LinkError(f"leader at {address} broke the exchange: {exc}", sent=True) from exc
        if kind != ANSWER_HEAD:
            writer.close()
            raise LinkError("unexpected frame from the leader", sent=True)
        head = orjson.loads(payload)
        await send(
            {
                "type": "http.response.start",
                "status": head["status"],
                "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in head["headers"]],
                VERSION: head.get("version"),
            }
        )
        client_gone = asyncio.create_task(_disconnected(receive))
        try:
            while True:
                frame = asyncio.create_task(_read(reader))
                done, _ = await asyncio.wait({frame, client_gone}, return_when=asyncio.FIRST_COMPLETED)
                if frame not in done:  # the client went away: closing tells the leader
                    frame.cancel()
                    writer.close()
                    return
                kind, payload = frame.result()
                if kind == ANSWER_BODY:
                    await send({"type": "http.response.body", "body": payload, "more_body": True})
                elif kind == ANSWER_END:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    break
                else:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError, LinkError):
            writer.close()  # the answer was started: the client sees a cut-off response
            return
        finally:
            client_gone.cancel()
        self._give_back(address, reader, writer)


async def _disconnected(receive: Callable) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
