"""Wake-ups across nodes through Redis pub/sub.

A publish wakes this process's waiters at once and tells every other node; a node that hears
news from another first lets ``on_news`` bring its view up to date, then wakes its own waiters.
News says which topic changed and to which version, and may carry what the commit changed (a
chat's row and new events: what the follower would otherwise read back from the store, once per
follower per write). The store stays the one truth: a node that is not exactly one version
behind ignores the change and reads the store.

Pub/sub rather than streams: a lost message costs latency, never correctness (the reader
re-reads the committed state), so Redis need not keep anything. What a node misses while it is
cut off from Redis it gets from ``on_reconnect`` (one catch-up pass over the store) and, while
Redis is down, from the cluster's fallback polling of the store. Streams would replay history
the store already holds, and would need trimming and a cursor per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from parley.bus.local import LocalBus

log = logging.getLogger("parley.bus")

# Between reconnect attempts: short enough that wake-ups resume within a couple of seconds of
# Redis coming back, long enough not to spin while it is down.
RECONNECT_SECONDS = 0.5
# A silent subscription is checked with a PING this often, so a dead connection (Redis killed,
# a network cut) is noticed within seconds rather than at the next TCP timeout.
HEALTH_CHECK_SECONDS = 2
# How long a publish or a ping may take before Redis counts as unreachable.
COMMAND_TIMEOUT_SECONDS = 1.0

News = Callable[[str, int | None, bytes | None], Awaitable[None]]
STOP = b"stop"  # the sender's last message: never a real one (those carry a node id and a topic)


class RedisBus:
    def __init__(
        self, url: str, on_news: News | None = None, on_reconnect: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._local = LocalBus()
        self._url = url
        self._channel = ""
        self._node = secrets.token_hex(8)  # our own news comes back to us: skipped by this id
        self.on_news = on_news
        self.on_reconnect = on_reconnect
        self.connected = False  # subscribed and listening
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._client: aioredis.Redis | None = None

    # -- the Bus protocol --------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._local.closed

    def publish(self, topic: str, version: int | None = None, change: bytes | None = None) -> None:
        self._local.publish(topic)
        if self._tasks:
            head = f"{self._node} {topic} {'' if version is None else version} ".encode()
            self._outbox.put_nowait(head + change if change else head)

    async def wait(self, topic: str, timeout: float) -> bool:
        return await self._local.wait(topic, timeout)

    def waiting(self, topic: str) -> int:
        return self._local.waiting(topic)

    def close(self) -> None:
        self._local.close()

    # -- connection ------------------------------------------------------------------------

    async def start(self, name: str) -> None:
        self._channel = f"parley:{name}"
        self._client = aioredis.Redis.from_url(
            self._url,
            socket_connect_timeout=COMMAND_TIMEOUT_SECONDS,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
            health_check_interval=HEALTH_CHECK_SECONDS,
        )
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._send())]

    async def stop(self) -> None:
        self.close()
        self._outbox.put_nowait(STOP)
        for task in self._tasks:
            task.cancel()
        # A cancel that lands inside redis-py's own timeout handling can be swallowed: the loops
        # also end by themselves (STOP, ``closed``), and a task that still lingers is left behind
        # rather than holding up the stop.
        await asyncio.wait(self._tasks, timeout=COMMAND_TIMEOUT_SECONDS * 2)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()

    async def ping(self) -> bool:
        """Redis answers now (readiness)."""
        if self._client is None:
            return False
        try:
            return bool(await asyncio.wait_for(self._client.ping(), COMMAND_TIMEOUT_SECONDS))
        except (TimeoutError, RedisError, OSError):
            return False

    async def _send(self) -> None:
        assert self._client is not None
        while True:
            first = await self._outbox.get()
            if first is STOP:
                return
            batch = [first]
            while not self._outbox.empty() and len(batch) < 512:
                message = self._outbox.get_nowait()
                if message is STOP:
                    return
                batch.append(message)
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for message in batch:
                        pipe.publish(self._channel, message)
                    await pipe.execute()
            except (TimeoutError, RedisError, OSError) as exc:
                # Dropped: the other nodes poll the store while they cannot hear us.
                log.debug("publish to redis failed: %s", exc)

    async def _listen(self) -> None:
        assert self._client is not None
        while not self.closed:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                if not self.connected:
                    log.info("redis bus connected")
                self.connected = True
                if self.on_reconnect is not None:
                    await self.on_reconnect()  # whatever was said while we were not listening
                while not self.closed:
                    message = await pubsub.get_message(timeout=HEALTH_CHECK_SECONDS)
                    if message is not None and message.get("type") == "message":
                        await self._heard(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of the connection: listen again shortly
                if self.connected:
                    log.warning("redis bus lost (%s); reading the store until it is back", exc)
                self.connected = False
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _heard(self, data: bytes) -> None:
        parts = data.split(b" ", 3)
        if len(parts) == 3:
            parts.append(b"")  # a node of the release before changes were sent
        try:
            node_id, topic_name, version, change = parts
            node, topic = node_id.decode(), topic_name.decode()
        except (ValueError, UnicodeDecodeError):
            return  # not ours: ignore, never crash the listener
        if node == self._node:
            return
        if self.on_news is not None:
            try:
                await self.on_news(topic, int(version) if version.isdigit() else None, change or None)
            except Exception:
                log.exception("catching up on %s failed", topic)
        self._local.publish(topic)
