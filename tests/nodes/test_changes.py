"""Changes on the bus: a follower one version behind applies the leader's change as it hears it,
without reading the store; its view then answers exactly what the leader's does."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from parley.client import AgentClient, VisitorClient
from tests.e2e.conftest import ACCOUNT, KEY
from tests.nodes.conftest import role, wait_until


def counters(node) -> dict[str, float]:
    text = httpx.get(node.url + "/metrics", timeout=5).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("parley_node_")
    }


def visitor_events(node, chat_path: str) -> list[dict]:
    answer = httpx.get(f"{node.url}{chat_path}/events.json?v=1&NC=true&appKey={KEY}&from=0", timeout=5)
    assert answer.status_code == 200, answer.text
    events = answer.json()["events"]["event"]
    return events if isinstance(events, list) else [events]


async def test_a_follower_applies_changes_from_the_bus(nodes):
    leader, talked_to, silent = nodes.start(3)
    assert [role(node) for node in (leader, talked_to, silent)] == ["leader", "follower", "follower"]
    before = counters(silent)
    agent = AgentClient(leader.url, ACCOUNT)
    visitor = VisitorClient(talked_to.url, ACCOUNT, KEY)
    try:
        await agent.login("natalie", "natalie")
        await agent.start_session()
        await agent.set_availability("Online")
        await visitor.request_chat(skill="Sales")
        assert await agent.ringing_count(wait=5) == 1
        chat_uri = await agent.accept()
        for number in range(10):
            await agent.send_line(chat_uri, f"agent line {number}")
            await visitor.send_line(f"visitor line {number}")
        await visitor.set_typing(True)
        lines: list[str] = []
        while len(lines) < 20:
            lines += [event["text"] for event in await visitor.poll(wait=5) if event["@type"] == "line"]
        assert [line for line in lines if "agent line" in line or "visitor line" in line][-2:] == [
            "agent line 9",
            "visitor line 9",
        ]
        chat_path = visitor.chat_uri.split(talked_to.url, 1)[-1]
        on_leader = visitor_events(leader, chat_path)

        # The silent follower's view equals the leader's, event for event, typing included.
        wait_until(lambda: visitor_events(silent, chat_path) == on_leader, "the silent follower's view")
        info = httpx.get(f"{silent.url}{chat_path}/info.json?v=1&NC=true&appKey={KEY}", timeout=5).json()
        assert info["info"]["visitorTyping"] == "typing"
        after = counters(silent)
        # It heard every change (the chat's creation, ring, accept, 20 lines, typing...) and applied
        # each from the bus: the store was never read for it.
        assert after["parley_node_changes_applied_total"] - before["parley_node_changes_applied_total"] >= 22
        assert after["parley_node_store_reads_total"] == before["parley_node_store_reads_total"]
    finally:
        await visitor.close()
        await agent.close()
