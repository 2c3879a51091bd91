"""The in-process bus: a request that waits for news on a topic (a chat, an agent's rings)
is woken by whoever commits news on that topic."""

from __future__ import annotations

import asyncio
from collections import defaultdict


class LocalBus:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future]] = defaultdict(set)
        self.closed = False

    async def start(self, name: str) -> None:
        return None  # nothing to connect to: one process

    async def stop(self) -> None:
        self.close()

    def close(self) -> None:
        """Wake every waiter; from now on ``wait`` answers False at once (the server is stopping)."""
        self.closed = True
        for topic in list(self._waiters):
            self.publish(topic)

    def publish(self, topic: str, version: int | None = None, change: bytes | None = None) -> None:
        waiters = self._waiters.pop(topic, None)
        for future in waiters or ():
            if not future.done():
                future.set_result(None)

    async def wait(self, topic: str, timeout: float) -> bool:
        """True if news arrived on ``topic`` within ``timeout`` seconds."""
        if timeout <= 0 or self.closed:
            return False
        future = asyncio.get_running_loop().create_future()
        self._waiters[topic].add(future)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(topic)
            if waiters is not None:
                waiters.discard(future)
                if not waiters:
                    del self._waiters[topic]

    def waiting(self, topic: str) -> int:
        return len(self._waiters.get(topic, ()))
