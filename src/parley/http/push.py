"""Push on the same cursor: long-poll (``wait=S``) and server-sent events on ``from=N``.

Clients that ask for neither get exactly the plain poll; those that do get each event once,
as soon as it is committed, and can always resume with ``from`` / ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
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


Wait = Callable[[float], Awaitable[bool]]


async def hold(wait: Wait, ready: Callable[[], bool], seconds: float) -> None:
    """Return when ``ready()`` or after ``seconds``; ``wait`` sleeps until news (True) or a
    timeout (False). A False also comes at once while the server stops (``Engine.drain``):
    either way the answer is due now."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not ready():
        left = deadline - loop.time()
        if left <= 0 or not await wait(left):
            return


def wants_stream(request: Request) -> bool:
    return EVENT_STREAM in (request.headers.get("accept") or "")


def stream_start(request: Request, from_id: int) -> int:
    """``Last-Event-ID`` resumes after that event; otherwise ``from``."""
    last = (request.headers.get("last-event-id") or "").strip()
    if last:
        return parse_integer(last, "Last-Event-ID") + 1
    return from_id


def event_stream(engine: Engine, chat: Chat, start: int, visitor: bool, render: Callable,
                 still_allowed: Callable[[], bool]) -> StreamingResponse:
    """Each visible event once, in order, as ``id:`` + ``data:`` (JSON); ends after ``ended``."""

    async def frames() -> AsyncIterator[bytes]:
        cursor = start
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
                if engine.draining:
                    # The server stops: what was committed is sent; the client resumes with Last-Event-ID.
                    return
                news = await engine.wait_for_chat(chat.id, HEARTBEAT_SECONDS)
                if not news and not engine.draining:
                    yield b": heartbeat\n\n"
                if visitor:
                    engine.touch_visitor(chat)

    return StreamingResponse(frames(), media_type=EVENT_STREAM, headers={"X-Accel-Buffering": "no"})
