"""PostgreSQL restarted under two nodes mid-chat: writes answer 503 while it is down, nothing
acknowledged is lost, and both nodes carry on by themselves (no node restarted, the leader keeps
its term); and idle polls on a follower touch no database."""

from __future__ import annotations

import asyncio
import time

import httpx

from parley.client import VisitorClient
from tests import postgres
from tests.e2e.conftest import ACCOUNT, KEY
from tests.e2e.test_conversation import agent_online
from tests.e2e.test_store_outage import (
    cluster,  # noqa: F401 (a fixture: our own PostgreSQL server)
    seeded,
)
from tests.nodes.conftest import Nodes, role


async def test_postgresql_restarted_under_two_nodes(cluster, tmp_path):  # noqa: F811 (the fixture)
    url = await asyncio.to_thread(seeded, cluster)
    nodes = Nodes(tmp_path, url)
    try:
        leader, follower = nodes.start(2)
        agent = await agent_online(leader)
        visitor = VisitorClient(follower.url, ACCOUNT, KEY)
        try:
            await visitor.request_chat(skill="Sales")
            chat_uri = await agent.accept()
            await visitor.send_line("before the outage")

            cluster.stop()
            refused = httpx.post(
                visitor.chat_uri + f"/events.json?v=1&NC=true&appKey={KEY}",
                json={"event": {"@type": "line", "text": "during the outage"}},
                timeout=30,
            )
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["internalCode"] == 15
            # A visitor's read of its open chat goes on from the follower's view.
            assert httpx.get(visitor.chat_uri + f".json?v=1&NC=true&appKey={KEY}", timeout=10).status_code == 200

            cluster.start()
            deadline = time.monotonic() + 30
            while True:  # the first writes after the restart may still meet a dead pooled connection
                answer = httpx.post(
                    visitor.chat_uri + f"/events.json?v=1&NC=true&appKey={KEY}",
                    json={"event": {"@type": "line", "text": "after the outage"}},
                    headers={"Idempotency-Key": "after-the-outage-0001"},
                    timeout=30,
                )
                if answer.status_code == 201 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert answer.status_code == 201, answer.text
            await agent.send_line(chat_uri, "and the agent answers")
            events, _ = await agent.events(chat_uri + "/events?from=0", wait=5)
            lines = [e["text"] for e in events if e["@type"] == "line" and e.get("source") in ("visitor", "agent")]
            assert lines == ["before the outage", "after the outage", "and the agent answers"]
            heard = []
            while "and the agent answers" not in heard:
                heard += [e.get("text") for e in await visitor.poll(wait=5) if e["@type"] == "line"]
            assert (role(leader), role(follower)) == ("leader", "follower")  # the same term goes on
            assert all(node.process.poll() is None for node in (leader, follower))
        finally:
            await visitor.close()
            await agent.close()
    finally:
        nodes.stop()


async def test_idle_polls_on_a_follower_touch_no_database(nodes, database_url):
    leader, follower = nodes.start(2)
    visitor = VisitorClient(follower.url, ACCOUNT, KEY)
    try:
        await visitor.request_chat(skill="Sales")
        await visitor.poll()
        name = database_url.rsplit("/", 1)[1]
        stats = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1"
        # pg_stat counters reach the view at most every 0.5 s (stats_fetch_consistency, flush interval).
        before = (await postgres.execute(postgres.ADMIN_URL, stats, name))[0][0]
        started = time.monotonic()
        for _ in range(300):
            assert (await visitor.poll()) == []
        time.sleep(1.2)
        after = (await postgres.execute(postgres.ADMIN_URL, stats, name))[0][0]
        seconds = time.monotonic() - started
        # Both nodes' own upkeep (sweeps, directory checks) costs a few transactions per second;
        # 300 polls reading the store would cost at least 300.
        assert after - before < 300 / 3, (after - before, seconds)
    finally:
        await visitor.close()
