"""Throwaway PostgreSQL databases for tests: each one made on the server at ``PARLEY_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/test``, the admin connection) and dropped after.

PostgreSQL is a real dependency of the suite: when it does not answer, the tests that need it
FAIL with a message saying so (never skip): a green run means both backends were tested.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
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
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
        pytest.fail(f"PostgreSQL at {ADMIN_URL} (PARLEY_TEST_POSTGRES) does not answer: {exc}. "
                    "Start it (.ci/run shows how) or point PARLEY_TEST_POSTGRES at one.", pytrace=False)
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
