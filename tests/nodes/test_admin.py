"""The admin API on two nodes: a change through either node holds on both, at once on the node
that served it and through the bus on the other (an app key revoked, an agent disabled)."""

from __future__ import annotations

import time

import httpx

from parley.services.admin_tokens import AdminTokens
from tests.e2e.conftest import ACCOUNT
from tests.nodes.conftest import Nodes, role, seed

made: dict[str, str] = {}


async def _token(admin) -> None:
    _, made["token"] = await AdminTokens(admin.store).create("nodes")


def eventually(check, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_key_revoked_through_a_follower_is_refused_on_both_nodes(tmp_path, database_url):
    seed(database_url, _token)
    nodes = Nodes(tmp_path, database_url)
    try:
        leader, follower = nodes.start(2)
        assert (role(leader), role(follower)) == ("leader", "follower")
        auth = {"Authorization": f"Bearer {made['token']}"}
        with httpx.Client(timeout=20) as http:
            keys = f"{follower.url}/admin/v1/accounts/{ACCOUNT}/appKeys"
            created = http.post(keys, headers=auth)
            assert created.status_code == 201, created.text
            key = created.json()["appKey"]

            def chat_request(node) -> httpx.Response:
                return http.post(
                    f"{node.url}/api/account/{ACCOUNT}/chat/request.json?v=1&appKey={key['key']}",
                    json={"request": {"skill": "Sales"}},
                )

            chat = chat_request(leader)
            assert chat.status_code == 201, chat.text
            path = chat.headers["location"].split("/api/", 1)[1]

            def read(node) -> int:  # a visitor's read: the follower answers it from its own view
                return http.get(f"{node.url}/api/{path}.json?v=1&appKey={key['key']}").status_code

            assert eventually(lambda: read(follower) == 200) and read(leader) == 200
            assert http.delete(f"{keys}/{key['id']}", headers=auth).status_code == 204
            assert read(follower) == 401  # the node that served the revocation: at once
            assert read(leader) == 401  # the leader applied it before answering
            assert chat_request(follower).status_code == 401
            assert (
                http.get(f"{leader.url}/admin/v1/accounts/{ACCOUNT}/appKeys", headers=auth).json()["appKeys"][0]["id"]
                != key["id"]
            )
    finally:
        nodes.stop()
