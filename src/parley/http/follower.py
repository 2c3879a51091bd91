"""What a follower node answers itself, and what it hands to the leader (``services/cluster.py``).

A follower answers what its view of the open chats can answer exactly: a visitor's reads of a
chat (the chat, its events, one event, its info and flags), held long-polls and event streams
included, plus the pages and probes that need no state. Everything else (every write, the agent
side, logins, availability, surveys) goes to the leader over the node link, and so does any
request while this node leads.

After a visitor's write goes through the leader, this node reads that chat from the store
before it answers: the client's next read here finds its own write.
"""

from __future__ import annotations

import asyncio
import re
import time

from parley.http.paths import ChatIdConvertor
from parley.http.relay import LinkError, RelayClient
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
        found = CHAT_PATH.match(scope["path"])
        chat_id = found.group("chat_id") if found else None
        deadline = time.monotonic() + LEADER_WAIT_SECONDS
        while True:
            try:
                admin_change = scope["path"].startswith("/admin/") and scope["method"] != "GET"
                await self.relay.forward(scope, body, receive, _caught_up(send, self.engine, chat_id, admin_change))
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


def _caught_up(send, engine, chat_id: str | None, admin_change: bool = False):
    """Before a visitor's successful write is answered, this node's view takes it in; so does an
    administrator's change (a key revoked through this node is refused here on the next request;
    other nodes hear of it on the bus)."""

    async def sending(message) -> None:
        if message["type"] == "http.response.start" and 200 <= message["status"] < 300 and admin_change:
            await engine.reload_directory()
            await engine.forget_missing()  # an erasure: the visitor's chats are gone here too
        if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
            target = chat_id
            if target is None:  # a new chat: its id is in the Location
                for name, value in message.get("headers", ()):
                    if name == b"location":
                        found = NEW_CHAT.search(value)
                        target = found.group("chat_id").decode() if found else None
            if target is not None:
                await engine.catch_up(target)
        await send(message)

    return sending


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
