"""End-to-end fixtures: a real ``parley serve`` process on a free loopback port, spoken to over HTTP.

Every e2e test runs once per store backend (ids ``[sqlite]``, ``[postgres]``): the session-wide
``backend`` fixture below chooses, and ``Server``, ``seed``, ``shared_server``, ``database_url``
and ``query`` follow it. A test names its database by a path (``tmp_path / "parley.db"``); on
PostgreSQL that path stands for a database of its own on the test server (``tests/postgres.py``),
made when first used and dropped when the test (or, for a module's shared server, the run) ends.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from parley.services.accounts import DEMO_ACCOUNT, DEMO_APP_KEY, Admin
from parley.store import open_store
from tests import postgres
from tests.e2e import backends
from tests.e2e.backends import BACKENDS, database_url, query  # noqa: F401 (the tests import them from here)

KEY = DEMO_APP_KEY
ACCOUNT = DEMO_ACCOUNT


@pytest.fixture(scope="session", params=BACKENDS, autouse=True)
def backend(request) -> str:
    """The store every server of the test uses; pytest runs all ``[sqlite]`` tests, then all
    ``[postgres]`` ones (a session-scoped parameter groups them)."""
    backends.current["backend"] = request.param
    yield request.param
    for path in list(backends.postgres_databases):
        postgres.drop_database(backends.postgres_databases.pop(path))


@pytest.fixture(autouse=True)
def _drop_the_tests_databases(tmp_path):
    """Drop, when a test ends, the PostgreSQL databases that stood for paths in its own tmp_path
    (a module's shared server has its database elsewhere: it goes when the backend's run ends)."""
    yield
    own = tmp_path.absolute()
    for path in [p for p in backends.postgres_databases if p.is_relative_to(own)]:
        postgres.drop_database(backends.postgres_databases.pop(path))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One server process; ``restart`` keeps the same database and port."""

    def __init__(self, database: Path, *args: str, store_url: str | None = None) -> None:
        self.database = database
        self.store_url = store_url  # instead of the backend's database for this path
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = database.with_suffix(".log")

    def start(self) -> Server:
        command = [
            sys.executable,
            "-m",
            "parley",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database",
            self.store_url or database_url(self.database),
            *self.args,
        ]
        # A new session: a Ctrl-C at the terminal reaches pytest, whose teardown stops the server.
        self.process = subprocess.Popen(
            command,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the server process alone, as ``kill PID`` would: it must take its children along."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # a failed stop: still leave nothing behind
            return self.process.wait(timeout=5)

    def restart(self, sig: int = signal.SIGTERM) -> Server:
        self.stop(sig)
        return self.start()


def seed(database: Path, extra=None) -> None:
    async def run():
        store = open_store(database_url(database))
        await store.open()
        try:
            admin = Admin(store)
            await admin.seed_demo()
            if extra is not None:
                await extra(admin)
        finally:
            await store.close()

    asyncio.run(run())


async def _second_agent(admin: Admin) -> None:
    await admin.create_agent(ACCOUNT, "bob", "bob-secret", "Bob", ["Sales", "Support"], 2)


def shared_server(folder: Path, *args: str, extra=_second_agent):
    """A seeded server for a whole module (a generator for a module-scoped fixture): for tests
    that only read and write chats they create themselves."""
    database = folder / "parley.db"
    seed(database, extra)
    instance = Server(database, *args).start()
    yield instance
    instance.stop()


@pytest.fixture
def database(tmp_path) -> Path:
    path = tmp_path / "parley.db"
    seed(path, _second_agent)
    return path


@pytest.fixture
def server(database):
    instance = Server(database).start()
    yield instance
    instance.stop()


@pytest.fixture
def http():
    with httpx.Client(timeout=20) as client:
        yield client


def q(extra: str = "") -> str:
    """The query every visitor call of the docs carries."""
    return f"v=1&NC=true&appKey={KEY}" + (f"&{extra}" if extra else "")
