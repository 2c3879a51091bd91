"""Erasure on two nodes: the erased chats leave every node's view, whether the erasure went through
the follower (forwarded to the leader), through the leader while the chat was in progress, or
through ``parley erase`` beside the nodes (the store's change counter)."""

from __future__ import annotations

import subprocess
import sys

import httpx

from parley.services.admin_tokens import AdminTokens
from tests import postgres
from tests.e2e.conftest import ACCOUNT, KEY
from tests.e2e.test_agent_api import Agent
from tests.nodes.conftest import Nodes, role, seed
from tests.nodes.test_admin import eventually

made: dict[str, str] = {}


async def _token(admin) -> None:
    _, made["token"] = await AdminTokens(admin.store).create("nodes")


def test_erased_chats_leave_every_nodes_view(tmp_path, database_url):
    seed(database_url, _token)
    nodes = Nodes(tmp_path, database_url)
    try:
        leader, follower = nodes.start(2)
        assert (role(leader), role(follower)) == ("leader", "follower")
        auth = {"Authorization": f"Bearer {made['token']}"}
        with httpx.Client(timeout=20) as http:

            def new_chat() -> tuple[str, int]:
                """A chat and its visitor (nobody is logged in: it ends at once, readable for an hour)."""
                made = http.post(
                    f"{leader.url}/api/account/{ACCOUNT}/chat/request.json?v=1&appKey={KEY}",
                    json={"request": {"skill": "Sales"}},
                )
                assert made.status_code == 201, made.text
                path = made.headers["location"].split("/api/", 1)[1]
                chat_id = path.rsplit("/", 1)[1]
                rows = postgres.run_sync(
                    postgres.execute(database_url, "SELECT visitor_id FROM chats WHERE id = $1", chat_id)
                )
                return path, rows[0][0]

            def read(node, path: str) -> int:
                return http.get(f"{node.url}/api/{path}.json?v=1&appKey={KEY}").status_code

            def erase(node, visitor: int) -> httpx.Response:
                return http.delete(f"{node.url}/admin/v1/accounts/{ACCOUNT}/visitors/{visitor}", headers=auth)

            # Through the follower: it forwards to the leader and drops the chat before answering.
            path, visitor = new_chat()
            assert eventually(lambda: read(follower, path) == 200) and read(leader, path) == 200
            erased = erase(follower, visitor)
            assert erased.status_code == 200, erased.text
            assert erased.json()["erasure"]["chats"] == 1
            assert read(follower, path) == 404 and read(leader, path) == 404

            # Through the CLI, beside both nodes: each notices by the store's change counter.
            path, visitor = new_chat()
            assert eventually(lambda: read(follower, path) == 200)
            cli = subprocess.run(
                [sys.executable, "-m", "parley", "erase", "--account", ACCOUNT, "--visitor", str(visitor)]
                + ["--database", database_url],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert cli.returncode == 0, cli.stderr
            assert eventually(lambda: read(leader, path) == 404 and read(follower, path) == 404)

            # Through the leader, the chat in progress: it is ended, deleted, and gone from the follower.
            Agent(leader, http)  # natalie, on Sales: the next chat waits for her
            path, visitor = new_chat()
            assert postgres.run_sync(
                postgres.execute(database_url, "SELECT ended_ms FROM chats WHERE visitor_id = $1", visitor)
            ) == [(None,)]
            assert eventually(lambda: read(follower, path) == 200)
            assert erase(leader, visitor).status_code == 200
            assert read(leader, path) == 404
            assert eventually(lambda: read(follower, path) == 404)
    finally:
        nodes.stop()
