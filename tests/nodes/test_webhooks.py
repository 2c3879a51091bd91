"""Webhooks on two nodes: a subscription made through a follower, a chat whose changes go through
it; the leader queues and posts the deliveries, and when it is killed with deliveries pending (the
receiver is down), the node that takes over posts them all, in order."""

from __future__ import annotations

import signal

import httpx

from parley.services.admin_tokens import AdminTokens
from tests import postgres
from tests.e2e.conftest import ACCOUNT, q
from tests.e2e.test_agent_api import Agent
from tests.e2e.test_webhooks import Receiver, verified
from tests.nodes.conftest import Nodes, role, seed, wait_until

made: dict[str, str] = {}


async def _token(admin) -> None:
    _, made["token"] = await AdminTokens(admin.store).create("nodes")


def test_a_new_leader_posts_what_the_killed_one_left_pending(tmp_path, database_url):
    seed(database_url, _token)
    nodes = Nodes(tmp_path, database_url)
    receiver = Receiver()  # not listening yet: every post is refused
    try:
        leader, follower = nodes.start(2)
        assert (role(leader), role(follower)) == ("leader", "follower")
        auth = {"Authorization": f"Bearer {made['token']}"}
        with httpx.Client(timeout=20) as http:
            created = http.post(
                f"{follower.url}/admin/v1/accounts/{ACCOUNT}/webhooks",
                headers=auth,
                json={"url": receiver.url, "events": ["chat.requested", "chat.line"]},
            )
            assert created.status_code == 201, created.text
            secret = created.json()["webhook"]["secret"]
            Agent(follower, http)  # logged in, so the chat waits for an agent instead of ending
            chat = http.post(
                f"{follower.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": {"skill": "Sales"}}
            )
            assert chat.status_code == 201, chat.text
            for n in range(3):
                line = http.post(
                    f"{chat.headers['location']}/events.json?{q()}", json={"event": {"@type": "line", "text": f"{n}"}}
                )
                assert line.status_code == 201, line.text

            def attempts() -> int:
                rows = postgres.run_sync(postgres.execute(database_url, "SELECT MAX(attempts) FROM webhook_deliveries"))
                return rows[0][0] or 0

            wait_until(lambda: attempts() >= 1, "the leader's first (refused) post")
            leader.stop(signal.SIGKILL)
            wait_until(lambda: role(follower) == "leader", "the follower to lead", seconds=30)
            receiver.start()
            receiver.wait(lambda: len(receiver.taken()) >= 4, "the deliveries the killed leader left")
            taken = receiver.taken()
            assert [b["event"] for _, b in taken] == ["chat.requested", "chat.line", "chat.line", "chat.line"]
            assert [b["line"]["text"] for _, b in taken[1:]] == ["0", "1", "2"]
            ids = [int(h["x-parley-delivery"]) for h, _ in taken]
            assert ids == sorted(ids) and len(set(ids)) == 4
            with receiver._lock:
                assert all(verified(h, body, secret) for h, body, _ in receiver.received)
    finally:
        nodes.stop()
        receiver.stop()
