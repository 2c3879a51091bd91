"""Push on the same cursor: long-poll (``wait=S``) and server-sent events on ``from=N``.

Clients that ask for neither get exactly the plain poll; those that do get each event once,
as soon as it is committed, and can always resume with ``from`` / ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import StreamingResponse

from parley.domain.chat import Chat
from parley.domain.numbers import parse_decimal, parse_integer
from parley.services.engine import Engine
from parley.wire import jsoncodec

# Home routers and default proxy settings drop idle connections at about 55-60 s; a hold of
# at most 50 s answers before that, so a long-poll never dies as a broken connection.
MAX_WAIT_SECONDS = 50
# A comment line this often keeps the same middleboxes from closing an idle event stream.
HEARTBEAT_SECONDS = 15
EVENT_STREAM = "text/event-stream"
# Of the connections the server takes at once (``--max-connections``), this share is kept for
# requests that are not held: a new chat, a line, an agent's login still get in when the rest hold.
RESERVE_SHARE = 16
RESERVE_LEAST = 8


def wait_seconds(request: Request) -> float:
    raw = request.query_params.get("wait")
    if raw is None or raw == "":
        return 0
    return parse_decimal(raw, "wait", maximum=MAX_WAIT_SECONDS)


@contextlib.contextmanager
def visitor_holding(engine: Engine, chat: Chat, visitor: bool):
    """A visitor request held open counts as activity for the chat timeout, start to end."""
    if not visitor:
        yield
        return
    engine.holders[chat.id] += 1
    try:
        yield
    finally:
        engine.holders[chat.id] -= 1
        if not engine.holders[chat.id]:
            del engine.holders[chat.id]
        engine.touch_visitor(chat)


class Capacity:
    """Requests held at once (long-polls, event streams) and how many may be: all connections
    but a reserve. Past it a long-poll answers at once, exactly like a plain poll, and an event
    stream sends what is there and ends (the client comes back after ``retry``)."""

    def __init__(self, connections: int) -> None:
        self.held = 0
        self.streams = 0  # of those held, the event streams (/metrics tells them from long-polls)
        self.size(connections)

    def size(self, connections: int) -> None:
        self.limit = max(1, connections - max(RESERVE_LEAST, connections // RESERVE_SHARE))

    def take(self) -> bool:
        if self.held >= self.limit:
            return False
        self.held += 1
        return True

    def give(self) -> None:
        self.held -= 1


_capacities: weakref.WeakKeyDictionary[Engine, Capacity] = weakref.WeakKeyDictionary()


def capacity(engine: Engine) -> Capacity:
    found = _capacities.get(engine)
    if found is None:
        found = _capacities[engine] = Capacity(engine.settings.max_connections)
    return found


class Departure:
    """Watches the ASGI ``receive`` channel of a held request for ``http.disconnect`` and then
    cancels the holding task, so that the request frees its connection and memory at once
    instead of when its wait runs out.

    Callbacks on the future ``receive()`` returns, not a task: granian's is future-like, so a
    held request costs no extra task or coroutine (a coroutine ``receive`` gets wrapped in one)."""

    __slots__ = ("task", "receive", "pending", "gone", "body_read")

    def __init__(self, receive) -> None:
        self.task = asyncio.current_task()
        self.receive = receive
        self.gone = False
        self.body_read = False
        self.pending = None
        self._listen()

    def _listen(self) -> None:
        self.pending = asyncio.ensure_future(self.receive())
        self.pending.add_done_callback(self._heard)

    def _heard(self, future) -> None:
        if self.pending is not future or future.cancelled() or future.exception() is not None:
            return  # stopped watching, or the server has nothing to say
        message = future.result()
        if message["type"] == "http.disconnect":
            self.pending = None
            self.gone = True
            self.task.cancel()
        elif not self.body_read and not message.get("more_body"):
            # The (empty) body is read; the next message is the disconnect, whenever it comes.
            self.body_read = True
            self._listen()
        elif message.get("more_body"):
            self._listen()

    def stop(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None and not pending.done():
            pending.cancel()


Wait = Callable[[float], Awaitable[bool]]


async def hold(request: Request, wait: Wait, ready: Callable[[], bool], seconds: float) -> None:
    """Return when ``ready()``, after ``seconds``, or when the client disconnects; ``wait`` sleeps
    until news (True) or a timeout (False). A False also comes at once while the server stops
    (``Engine.drain``): either way the answer is due now. Nothing is held (no task, no count)
    when the answer is ready at the start."""
    if ready():
        return
    held = capacity(request.scope["parley.engine"])
    if not held.take():
        return  # every connection but the reserve holds: answer now, the client polls again
    departure = Departure(request.receive)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not ready():
            left = deadline - loop.time()
            if left <= 0 or not await wait(left):
                return
    except asyncio.CancelledError:
        if not departure.gone:
            raise
        asyncio.current_task().uncancel()  # the client left: the caller answers no one, cheaply
    finally:
        departure.stop()
        held.give()


def wants_stream(request: Request) -> bool:
    return EVENT_STREAM in (request.headers.get("accept") or "")


def stream_start(request: Request, from_id: int) -> int:
    """``Last-Event-ID`` resumes after that event; otherwise ``from``."""
    last = (request.headers.get("last-event-id") or "").strip()
    if last:
        return parse_integer(last, "Last-Event-ID") + 1
    return from_id


def event_stream(
    engine: Engine, chat: Chat, start: int, visitor: bool, render: Callable, still_allowed: Callable[[], bool]
) -> StreamingResponse:
    """Each visible event once, in order, as ``id:`` + ``data:`` (JSON); ends after ``ended``."""

    async def frames() -> AsyncIterator[bytes]:
        cursor = start
        held = capacity(engine)
        holding = held.take()
        held.streams += holding
        try:
            with visitor_holding(engine, chat, visitor):
                yield b"retry: 2000\n\n"
                while still_allowed():
                    events = chat.visible_events(cursor, visitor)
                    for event in events:
                        if not still_allowed():  # e.g. a transfer: nothing written after it reaches the former agent
                            return
                        data = jsoncodec.render({"event": render(event)})
                        yield b"id: %d\ndata: %s\n\n" % (event.id, data)
                        if event.type == "state" and event.fields.get("state") == "ended":
                            return
                    if events:
                        cursor = events[-1].id + 1
                    if not chat.active and not chat.visible_events(cursor, visitor):
                        return
                    if engine.draining or not holding:
                        # The server stops, or every connection but the reserve holds: what was
                        # committed is sent; the client comes back with Last-Event-ID.
                        return
                    news = await engine.wait_for_chat(chat.id, HEARTBEAT_SECONDS)
                    if not news and not engine.draining:
                        yield b": heartbeat\n\n"
                    if visitor:
                        engine.touch_visitor(chat)
        finally:
            if holding:
                held.streams -= 1
                held.give()

    return StreamingResponse(frames(), media_type=EVENT_STREAM, headers={"X-Accel-Buffering": "no"})
