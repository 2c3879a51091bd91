"""The HTTP server of ``parley serve``: granian embedded in this one process, and its stop.

Embedded, not granian's process manager: the live view of open chats lives in one process
anyway, and a forked worker outlived a SIGKILLed parent (still serving, still holding the
database lock). Here the listener, the engine and the database are this process: whatever kills
it frees the port and the lock at once.

Stopping (SIGTERM, SIGINT): ``on_stop`` runs (it ends the demo bot), the engine drains (held
long-polls and event streams answer now with what they have, new ones do not wait), granian
stops accepting, the requests still running finish (bounded), then the database closes.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
from collections.abc import Callable

from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server.embed import Server

from parley import logs
from parley.config import Settings
from parley.http import push
from parley.http.app import create_app

log = logging.getLogger("parley.server")

# After the drain every request answers at once; this only bounds a request stuck elsewhere
# (a slow disk) so that a stop never hangs on it.
FINISH_SECONDS = 5.0
# Files the process keeps open besides its connections: the database and its journal, logs, the
# listener, the event loop's own descriptors, a mail connection...
OTHER_FILES = 64
# The kernel caps the listen queue at net.core.somaxconn (4096 on current Linux); asking for more
# costs nothing. It absorbs a burst of reconnects, e.g. every visitor re-polling after a restart.
BACKLOG = 4096


def open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (often 1024 soft, far more hard): every
    connection is an open file, and 1024 would cap the server near a thousand held polls."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        if target != soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                log.info("open-file limit raised from %d to %d (one per connection)", soft, target)
                soft = target
            except (ValueError, OSError):
                pass  # keep the soft limit; the check below sizes to it
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_limit(wanted: int) -> int:
    """``--max-connections`` as granian's backpressure, bounded by the open-file limit (a refused
    connection beats an accept loop failing with EMFILE)."""
    files = open_file_limit()
    limit = max(2, min(wanted, files - OTHER_FILES))
    if limit < wanted:
        log.warning(
            "max-connections %d lowered to %d: the open-file limit is %d (raise it with ulimit -n)",
            wanted,
            limit,
            files,
        )
    return limit


class InFlight:
    """Counts the HTTP requests the application is running, so the store closes after the last."""

    def __init__(self, app) -> None:
        self.app = app
        self.running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, scope, receive, send) -> None:
        self.running += 1
        self._idle.clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1
            if not self.running:
                self._idle.set()

    async def finished(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False


async def serve(settings: Settings, on_stop: Callable[[], None] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; 0 after a clean stop."""
    gateway = create_app(settings)
    engine = gateway.engine
    node = gateway.node  # the engine alone, or the engine as one node of many
    await node.start()  # here, not in an ASGI lifespan: the stop order below is ours
    app = InFlight(gateway)
    # ASGINL: no lifespan protocol, the engine is started and stopped around the server.
    # backpressure: the connections granian serves at once. Its default (backlog / workers, 128
    # embedded) would let a few hundred held long-polls lock everyone else out.
    connections = connection_limit(settings.max_connections)
    push.capacity(engine).size(connections)  # held requests leave a reserve of it to plain ones
    # HTTP/1.1 only: the "auto" mode's HTTP/2 detection about doubles what granian keeps per
    # connection (27 -> 12.5 KiB measured, held requests); browsers speak HTTP/2 only over TLS,
    # which a proxy in front terminates (and speaks HTTP/1.1 to us).
    server = Server(
        app,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGINL,
        http=HTTPModes.http1,
        backlog=BACKLOG,
        backpressure=connections,
        log_access=False,
        # granian applies a logging configuration of its own: ours, so its lines look like ours.
        log_level=LogLevels(settings.log_level),
        log_dictconfig=logs.dict_config(settings.log_format, settings.log_level),
    )
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        if engine.draining:
            return  # a second Ctrl-C while stopping: the stop is already under way
        log.info("%s: answering held requests and stopping", signal.Signals(signum).name)
        if on_stop is not None:
            on_stop()
        engine.drain()
        server.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await server.serve()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        engine.drain()
        if not await app.finished(FINISH_SECONDS):
            log.warning(
                "%d requests still running after %.0f s; closing the database anyway", app.running, FINISH_SECONDS
            )
        await node.stop()
        logs.access.flush()
    log.info("stopped")
    return 0
