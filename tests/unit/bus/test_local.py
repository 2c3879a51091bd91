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


async def test_close_wakes_every_waiter_and_later_waits_do_not_hold():
    bus = LocalBus()
    held = [asyncio.create_task(bus.wait(topic, 30)) for topic in ("chat:a", "chat:a", "agent:1")]
    await asyncio.sleep(0)
    bus.close()
    assert await asyncio.wait_for(asyncio.gather(*held), 5) == [True, True, True]
    assert await asyncio.wait_for(bus.wait("chat:a", 30), 5) is False  # a new hold answers at once
    assert bus.waiting("chat:a") == 0 and bus.waiting("agent:1") == 0
