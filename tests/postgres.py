"""Throwaway PostgreSQL databases for tests: each one made on the server at ``PARLEY_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/test``, the admin connection) and dropped after.

PostgreSQL is a real dependency of the suite: when it does not answer, the tests that need it
FAIL with a message saying so (never skip): a green run means both backends were tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

ADMIN_URL = os.environ.get("PARLEY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PREFIX = "parley_t_"


def run_sync(coroutine):
    """Run a coroutine to its end from sync code, also when the caller's thread runs a loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def url_of(name: str, admin_url: str = ADMIN_URL) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


async def _admin(sql: str) -> None:
    try:
        connection = await asyncpg.connect(ADMIN_URL, timeout=10)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at {ADMIN_URL} (PARLEY_TEST_POSTGRES) does not answer: {exc}. "
            "Start it (.ci/run shows how) or point PARLEY_TEST_POSTGRES at one.",
            pytrace=False,
        )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_database() -> str:
    """A new empty database; returns its URL."""
    name = PREFIX + secrets.token_hex(6)
    run_sync(_admin(f"CREATE DATABASE {name}"))
    return url_of(name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith(PREFIX), name  # never anything a test did not make
    run_sync(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def execute(url: str, sql: str, *args) -> list[tuple]:
    """One statement on its own connection (as another process would), its rows as tuples."""
    connection = await asyncpg.connect(url, timeout=10)
    try:
        return [tuple(row) for row in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


class Cluster:
    """A throwaway PostgreSQL server of our own (Debian's binaries, a temporary data directory, a free
    loopback port), for tests that stop and start the database under a running parley. PostgreSQL
    refuses to run as root: as root it runs as the ``postgres`` user."""

    # Debian's server binaries, newest version installed (15 on bookworm).
    BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/nonexistent"))

    def __init__(self, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="parley-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, tool: str, *args: str) -> None:
        command = [*self.as_postgres, str(self.BIN / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}\n{log[-2000:]}")

    def init(self) -> Cluster:
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        """Fast shutdown: connections are closed at once, as when the database goes down."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @contextlib.contextmanager
    def frozen(self):
        """Every process of this server stopped (SIGSTOP) while inside: a database that holds its
        connections open and never answers, as behind a black-holing network."""
        import psutil

        main = psutil.Process(int((self.data / "postmaster.pid").read_text().split()[0]))
        processes = [main, *main.children(recursive=True)]
        for process in processes:
            process.suspend()
        try:
            yield
        finally:
            for process in processes:
                process.resume()

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
