"""Many nodes on one PostgreSQL and one Redis (the real services CI starts on 127.0.0.1:5432 and
127.0.0.1:6379): each test makes its own database, and its nodes find each other through it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from parley.services.accounts import Admin
from tests import postgres
from tests.e2e.conftest import Server, seed_url

REDIS = os.environ.get("PARLEY_TEST_REDIS", "redis://127.0.0.1:6379/0")


def seed(url: str, extra=None) -> None:
    seed_url(url, extra)


def seed_agent(url: str, login: str, password: str, nickname: str, skills: list[str], max_chats: int = 4) -> None:
    async def add(admin: Admin) -> None:
        await admin.create_agent("12345", login, password, nickname, skills, max_chats)

    seed_url(url, add)  # the demo account is there already: seeding it again changes nothing


class Nodes:
    """``count`` ``parley serve`` processes on one database; the first one started leads."""

    def __init__(self, folder: Path, url: str, *args: str) -> None:
        self.folder, self.url, self.args = folder, url, args
        self.nodes: list[Server] = []

    def start(self, count: int, *args: str, redis: str = REDIS) -> list[Server]:
        for _ in range(count):
            index = len(self.nodes)
            node = Server(self.folder / f"node{index}.db", "--redis", redis, *self.args, *args, store_url=self.url)
            self.nodes.append(node.start())
            if index == 0:
                wait_until(lambda first=node: ready(first), "the first node to lead")
        return self.nodes

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def leader(self) -> Server:
        return next(node for node in self.nodes if node.process.poll() is None and role(node) == "leader")


def ready(node: Server) -> bool:
    try:
        return httpx.get(node.url + "/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def role(node: Server) -> str | None:
    try:
        return httpx.get(node.url + "/ready.json", timeout=2).json()["ready"].get("role")
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def wait_until(condition, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def database_url():
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
def nodes(tmp_path, database_url):
    seed(database_url)
    made = Nodes(tmp_path, database_url)
    yield made
    made.stop()
