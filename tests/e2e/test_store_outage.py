"""The database goes down under a running server (PostgreSQL stopped, then started again).

Requests that need the store answer 503 in the API's error format with a Retry-After, promptly
and never a 500; what does not need it (``/health``, reading a chat held in memory) still works;
and once PostgreSQL answers again the same server process serves writes again by itself.
The database is a throwaway PostgreSQL of our own (``tests/postgres.Cluster``) that the test can
stop: under ``[sqlite]`` and ``[postgres]`` alike, since the outage is PostgreSQL's.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from parley.services.accounts import Admin
from parley.store import open_store
from tests import postgres
from tests.e2e.conftest import ACCOUNT, Server, _second_agent, free_port, q
from tests.e2e.test_chat_resource import accepted_chat


@pytest.fixture
def cluster():
    own = postgres.Cluster(free_port()).init()
    try:
        own.start()
        yield own
    finally:
        own.destroy()


def seeded(cluster: postgres.Cluster) -> str:
    async def run() -> str:
        import asyncpg

        admin = await asyncpg.connect(cluster.url(), timeout=10)
        await admin.execute("CREATE DATABASE parley")
        await admin.close()
        store = open_store(cluster.url("parley"))
        await store.open()
        try:
            await Admin(store).seed_demo()
            await _second_agent(Admin(store))
        finally:
            await store.close()
        return cluster.url("parley")

    return asyncio.run(run())


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["internalCode"] == 15 and "unavailable" in error["message"].lower()
    assert int(response.headers["retry-after"]) > 0


def eventually(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_postgresql_down_answers_503_then_the_server_recovers_by_itself(cluster, tmp_path):
    server = Server(tmp_path / "outage.db", store_url=seeded(cluster)).start()
    try:
        with httpx.Client(timeout=30) as http:
            visitor_uri, _ = accepted_chat(server, http)
            events = f"{visitor_uri}/events.json?{q()}"
            assert http.post(events, json={"event": {"@type": "line", "text": "before"}}).status_code == 201
            pid = server.process.pid

            cluster.stop()
            assert_unavailable(http.post(events, json={"event": {"@type": "line", "text": "lost"}}))
            assert_unavailable(
                http.post(
                    f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": {"skill": "Sales"}}
                )
            )
            ready = http.get(f"{server.url}/ready")
            assert ready.status_code == 503 and ready.json()["error"]["internalCode"] == 15
            assert http.get(f"{server.url}/health").status_code == 200  # alive, only the store is gone
            held = http.get(events + "&from=0")  # a chat in memory still reads
            assert held.status_code == 200 and "before" in held.text

            cluster.start()
            assert eventually(lambda: http.get(f"{server.url}/ready").status_code == 200)
            assert eventually(
                lambda: http.post(events, json={"event": {"@type": "line", "text": "after"}}).status_code == 201
            )
            assert (
                http.post(
                    f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": {"skill": "Sales"}}
                ).status_code
                == 201
            )
            lines = [
                e.get("text")
                for e in http.get(events + "&from=0").json()["events"]["event"]
                if e.get("@type") == "line" and e.get("source") == "visitor"
            ]
            assert lines == ["before", "after"]  # the refused write left nothing behind
            assert server.process.pid == pid and server.process.poll() is None  # never restarted
    finally:
        server.stop()


def test_a_postgresql_that_stops_answering_costs_a_bounded_wait_and_a_503(cluster, tmp_path):
    """Black-holed rather than down (every PostgreSQL process frozen: connections stay open and
    nothing answers): a write is refused after the store's timeout instead of hanging, and once
    the database thaws the server writes again."""
    server = Server(tmp_path / "frozen.db", store_url=seeded(cluster)).start()
    try:
        with httpx.Client(timeout=60) as http:  # far above the store's own bound
            visitor_uri, _ = accepted_chat(server, http)
            events = f"{visitor_uri}/events.json?{q()}"
            with cluster.frozen():
                assert_unavailable(http.post(events, json={"event": {"@type": "line", "text": "lost"}}))
            assert eventually(
                lambda: http.post(events, json={"event": {"@type": "line", "text": "after"}}).status_code == 201
            )
    finally:
        server.stop()
