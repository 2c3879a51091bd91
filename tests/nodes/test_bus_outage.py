"""Redis stopped mid-chat: every node keeps answering correctly (news comes from reading the store
about once a second); Redis back: wake-ups resume through it, with no node restarted."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from parley.client import VisitorClient
from tests.e2e.conftest import ACCOUNT, KEY
from tests.e2e.test_conversation import agent_online
from tests.nodes.conftest import Nodes, role, wait_until

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class OwnRedis:
    """A redis-server of this test's own on a free loopback port, stopped and started at will."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self._answers, "redis-server to answer")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis():
    if not Path(REDIS_SERVER).exists():
        pytest.fail("redis-server is needed (apt-get install redis-server; .ci/run installs it)")
    own = OwnRedis()
    own.start()
    yield own
    own.stop()


def bus_of(node) -> str:
    return httpx.get(node.url + "/ready.json", timeout=5).json()["ready"]["bus"]


async def test_redis_stopped_and_started_mid_chat(tmp_path, database_url, redis):
    from tests.nodes.conftest import seed

    seed(database_url)
    nodes = Nodes(tmp_path, database_url)
    try:
        first, second = nodes.start(2, redis=redis.url)
        assert (role(first), role(second)) == ("leader", "follower")
        agent = await agent_online(first)
        visitor = VisitorClient(second.url, ACCOUNT, KEY)
        try:
            await visitor.request_chat(skill="Sales")
            chat_uri = await agent.accept()
            seen: list[dict] = []
            while not any(e.get("systemMessageId") == 3 for e in seen):  # "You are now chatting with…"
                seen += await visitor.poll(wait=2)
            assert bus_of(second) == "connected"

            redis.stop()
            wait_until(lambda: bus_of(second).startswith("unreachable"), "the follower to notice Redis is gone")
            await agent.send_line(chat_uri, "said while Redis is down")
            heard = await visitor.poll(wait=10)  # woken by the follower's reading of the store
            assert [e["text"] for e in heard if e["@type"] == "line"] == ["said while Redis is down"]
            assert httpx.get(second.url + "/ready.json").status_code == 200  # still serving

            redis.start()
            wait_until(lambda: bus_of(first) == bus_of(second) == "connected", "both nodes back on Redis")
            await agent.send_line(chat_uri, "said after Redis came back")
            heard = await visitor.poll(wait=10)
            assert [e["text"] for e in heard if e["@type"] == "line"] == ["said after Redis came back"]
            assert all(node.process.poll() is None for node in (first, second))  # nobody restarted
        finally:
            await visitor.close()
            await agent.close()
    finally:
        nodes.stop()
