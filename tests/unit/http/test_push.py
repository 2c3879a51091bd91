"""Long-polls and event streams in process: held (the capacity says so) until news comes."""

from __future__ import annotations

import asyncio

import orjson

from parley.http import push
from tests.unit.http.test_agent import Agent
from tests.unit.http.test_visitor import Q, events_of, new_chat


async def until_held(engine, count: int, streams: int = 0) -> None:
    held = push.capacity(engine)
    for _ in range(1000):
        if held.held == count and held.streams == streams:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"held {held.held} ({held.streams} streams), expected {count} ({streams})")


async def test_a_long_poll_is_held_until_the_agents_line(http, engine):
    agent = await Agent.log_in(http)
    chat = await new_chat(http)
    agent_chat = await agent.accept()
    cursor = len(events_of((await http.get(f"{chat}/events.json?{Q}")).json()))
    poll = asyncio.create_task(http.get(f"{chat}/events.json?{Q}&from={cursor}&wait=50"))
    await until_held(engine, 1)
    assert engine.holders  # a held visitor poll counts as the visitor's activity
    await agent.post(f"{agent_chat}/events", {"event": {"@type": "line", "text": "woken"}})
    answer = await asyncio.wait_for(poll, 10)
    assert [event["text"] for event in events_of(answer.json())] == ["woken"]
    await until_held(engine, 0)
    assert not engine.holders


async def test_the_agents_ring_poll_is_held_until_a_chat_rings(http, engine):
    agent = await Agent.log_in(http)
    poll = asyncio.create_task(agent.get(f"{agent.session}/incomingRequests", wait="50"))
    await until_held(engine, 1)
    await new_chat(http)
    answer = await asyncio.wait_for(poll, 10)
    assert answer.json()["incomingRequests"]["ringingCount"] == "1"


async def test_an_event_stream_is_held_and_ends_with_the_chat(http, engine):
    agent = await Agent.log_in(http)
    chat = await new_chat(http)
    agent_chat = await agent.accept()
    stream = asyncio.create_task(http.get(f"{chat}/events?{Q}", headers={"Accept": "text/event-stream"}))
    await until_held(engine, 1, streams=1)
    await agent.post(f"{agent_chat}/events", {"event": {"@type": "line", "text": "streamed"}})
    await agent.post(f"{agent_chat}/events", {"event": {"@type": "state", "state": "ended"}})
    answer = await asyncio.wait_for(stream, 10)
    assert answer.headers["content-type"].startswith("text/event-stream")
    data = [orjson.loads(line[6:])["event"] for line in answer.text.splitlines() if line.startswith("data: ")]
    assert "streamed" in [event.get("text") for event in data if event["@type"] == "line"]
    assert data[-1]["@type"] == "state" and data[-1]["state"] == "ended"
    await until_held(engine, 0)


async def test_past_the_capacity_a_long_poll_answers_at_once(http, engine):
    chat = await new_chat(http)
    held = push.capacity(engine)
    held.held = held.limit  # every connection but the reserve holds
    try:
        answer = await asyncio.wait_for(http.get(f"{chat}/events.json?{Q}&from=99&wait=50"), 10)
    finally:
        held.held = 0
    assert answer.status_code == 200 and events_of(answer.json()) == []
