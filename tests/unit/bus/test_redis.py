"""The Redis bus against the real Redis on 127.0.0.1:6379 (CI starts one): news crosses between
two buses of one name, never between names, and a node's own news is not echoed back."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest

from parley.bus.redis import RedisBus

REDIS = os.environ.get("PARLEY_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def started(name: str, heard: list) -> RedisBus:
    async def on_news(topic, version, change):
        heard.append((topic, version) if change is None else (topic, version, change))

    bus = RedisBus(REDIS, on_news=on_news)
    await bus.start(name)
    for _ in range(200):
        if bus.connected:
            return bus
        await asyncio.sleep(0.02)
    raise AssertionError(f"no Redis at {REDIS}: the many-node tests need one (CI starts it)")


@pytest.fixture
async def pair():
    name = secrets.token_hex(6)
    heard_a, heard_b = [], []
    a, b = await started(name, heard_a), await started(name, heard_b)
    yield a, b, heard_a, heard_b
    await a.stop()
    await b.stop()


async def test_news_reaches_the_other_node_and_wakes_its_waiters(pair):
    a, b, heard_a, heard_b = pair
    waiting = asyncio.create_task(b.wait("chat:c1", 5))
    await asyncio.sleep(0.05)
    assert b.waiting("chat:c1") == 1
    a.publish("chat:c1", 7)
    assert await waiting
    assert heard_b == [("chat:c1", 7)]
    assert heard_a == []  # its own news is not heard back


async def test_a_change_crosses_byte_for_byte(pair):
    a, b, _, heard_b = pair
    change = b'{"row": ["a b", 1], "text": "x \xc3\xa9 y"}'
    waiting = asyncio.create_task(b.wait("chat:c2", 5))
    await asyncio.sleep(0.05)
    a.publish("chat:c2", 3, change)
    assert await waiting
    assert heard_b == [("chat:c2", 3, change)]


async def test_a_publish_wakes_local_waiters_at_once(pair):
    a, _, _, _ = pair
    waiting = asyncio.create_task(a.wait("agent:3", 5))
    await asyncio.sleep(0.01)
    a.publish("agent:3")
    assert await asyncio.wait_for(waiting, 1)


async def test_news_stays_within_one_cluster():
    heard: list = []
    a = await started(secrets.token_hex(6), [])
    other = await started(secrets.token_hex(6), heard)
    try:
        a.publish("chat:c2", 1)
        assert not await other.wait("chat:c2", 0.5)
        assert heard == []
    finally:
        await a.stop()
        await other.stop()


async def test_ping_and_close(pair):
    a, _, _, _ = pair
    assert await a.ping()
    a.close()
    assert not await a.wait("chat:c3", 1)  # closed: nobody waits any more
