import asyncio

from parley.bus.local import LocalBus


async def test_publish_wakes_every_waiter_of_the_topic_only():
    bus = LocalBus()
    woken = [asyncio.create_task(bus.wait("chat:a", 5)) for _ in range(3)]
    other = asyncio.create_task(bus.wait("chat:b", 0.2))
    await asyncio.sleep(0)
    assert bus.waiting("chat:a") == 3
    bus.publish("chat:a")
    assert await asyncio.gather(*woken) == [True, True, True]
    assert await other is False
    assert bus.waiting("chat:a") == 0 and bus.waiting("chat:b") == 0


async def test_wait_without_news_times_out_and_cleans_up():
    bus = LocalBus()
    assert await bus.wait("agent:1", 0.05) is False
    assert await bus.wait("agent:1", 0) is False
    assert bus.waiting("agent:1") == 0
