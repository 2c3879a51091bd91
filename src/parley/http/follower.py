"""What a follower node answers itself, and what it hands to the leader (``services/cluster.py``).

A follower answers what its view of the open chats can answer exactly: a visitor's reads of a
chat (the chat, its events, one event, its info and flags), held long-polls and event streams
included, plus the pages and probes that need no state. Everything else (every write, the agent
side, logins, availability, surveys) goes to the leader over the node link, and so does any
request while this node leads.

After a visitor's write goes through the leader, this node's view takes the write in before it
answers (the client's next read here finds its own write): the leader says the chat's version
with its answer; the change usually arrives on the bus meanwhile, and the store is read only
when it has not arrived within ``NEWS_WAIT_SECONDS``.
"""

from __future__ import annotations

import asyncio
import re
import time

from parley.bus import chat_topic
from parley.http.paths import ChatIdConvertor
from parley.http.relay import VERSION, LinkError, RelayClient
from parley.wire import errors
from parley.wire.errors import ApiError

# A chat id has a fixed shape (``paths.ChatIdConvertor``): /chat/availability and the like are not chats.
CHAT_PATH = re.compile(rf"^/api/account/[^/]+/chat/(?P<chat_id>{ChatIdConvertor.regex})(?P<rest>/.*)?$")
NEW_CHAT = re.compile(rf"/chat/(?P<chat_id>{ChatIdConvertor.regex})$".encode())
# Visitor reads of one chat that the view answers: the chat, its events and one event, its info.
READS = re.compile(r"^(/events(/[^/]+)?|/info(/visitorName|/visitorTyping|/agentTyping)?)?$")
# Reads that need no state of the contact centre.
STATELESS = ("/health", "/ready", "/openapi", "/metrics", "/hcp/", "/postmessage/", "/console", "/widget")
# How long a request waits for a leader (one being elected, or starting) before it answers 503.
LEADER_WAIT_SECONDS = 5.0
RETRY_SECONDS = 0.2
# How long an answer to a forwarded write waits for the bus to bring its change before this node
# reads the chat from the store: about a bus round trip (both were sent by the leader at once).
NEWS_WAIT_SECONDS = 0.02


def chat_of(path: str, start: dict) -> str | None:
    """The chat a successful answer is about: the one in its path, or a new one in its Location."""
    if not 200 <= start["status"] < 300:
        return None
    found = CHAT_PATH.match(path)
    if found is not None:
        return found.group("chat_id")
    for name, value in start.get("headers", ()):
        if name == b"location":
            made = NEW_CHAT.search(value)
            return made.group("chat_id").decode() if made else None
    return None


def chat_version(engine, scope: dict, start: dict) -> int | None:
    """At the leader: the committed version of the chat a relayed answer is about."""
    chat_id = chat_of(scope["path"], start)
    chat = engine.chats.get(chat_id) if chat_id is not None else None
    return chat.version if chat is not None else None


def answered_here(scope: dict) -> bool:
    path = scope["path"]
    if scope["method"] != "GET":
        return False
    if path.startswith(STATELESS):
        return True
    found = CHAT_PATH.match(path)
    if found is None or not READS.match(found.group("rest") or ""):
        return False
    # A bearer (an agent asking as a visitor) is checked against logins only the leader holds.
    return not any(name == b"authorization" for name, _ in scope["headers"])


class FollowerGate:
    """Wraps the router (inside the error handling, so a 503 gets the API's error body)."""

    def __init__(self, router, engine, relay: RelayClient) -> None:
        self.router = router
        self.engine = engine
        self.relay = relay

    def __getattr__(self, name: str):
        return getattr(self.router, name)  # routes, url_path_for, lifespan...

    async def __call__(self, scope, receive, send) -> None:
        cluster = self.engine.cluster
        if scope["type"] != "http" or cluster is None or cluster.leading or answered_here(scope):
            await self.router(scope, receive, send)
            return
        body = await _body(receive, self.engine.settings.max_body_bytes + 1)
        deadline = time.monotonic() + LEADER_WAIT_SECONDS
        while True:
            try:
                admin_change = scope["path"].startswith("/admin/") and scope["method"] != "GET"
                await self.relay.forward(
                    scope, body, receive, _caught_up(send, self.engine, scope["path"], admin_change)
                )
                return
            except LinkError as exc:
                self.relay.forget()
                if exc.sent:  # it may have been applied: only the client (with its idempotency key) may retry
                    raise unavailable(
                        "The leader node stopped answering; the request may or may not have been applied"
                    ) from exc
                if cluster.leading:  # this node took the lead meanwhile
                    await self.router(scope, _replay(body), send)
                    return
                if time.monotonic() > deadline:
                    raise unavailable("No leader node answers now; try again shortly") from exc
                await asyncio.sleep(RETRY_SECONDS)


def unavailable(message: str) -> ApiError:
    error = ApiError(503, errors.NOT_READY, message)
    error.headers = {"Retry-After": "1"}  # sent by the error handler
    return error


def _caught_up(send, engine, path: str, admin_change: bool = False):
    """Before a visitor's successful write is answered, this node's view takes it in; so does an
    administrator's change (a key revoked through this node is refused here on the next request;
    other nodes hear of it on the bus)."""

    async def sending(message) -> None:
        if message["type"] == "http.response.start":
            version = message.pop(VERSION, None)
            if 200 <= message["status"] < 300 and admin_change:
                await engine.reload_directory()
            target = chat_of(path, message)
            if target is not None:
                await _take_in(engine, target, version)
        await send(message)

    return sending


async def _take_in(engine, chat_id: str, version: int | None) -> None:
    """The view holds ``version`` of the chat: heard on the bus, or read from the store."""
    deadline = time.monotonic() + NEWS_WAIT_SECONDS
    while version is not None:
        chat = engine.chats.get(chat_id)
        if chat is not None and chat.version >= version:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            break
        await engine.bus.wait(chat_topic(chat_id), left)
    await engine.catch_up(chat_id)


async def _body(receive, limit: int) -> bytes:
    """The whole request body, at most ``limit`` bytes (the leader refuses what is too large)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        if size < limit:
            chunks.append(chunk[: limit - size])
            size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
