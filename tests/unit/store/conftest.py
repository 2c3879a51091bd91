"""The store tests run once per backend: ``[sqlite]`` on a temporary file, ``[postgres]`` on a
database of its own on the test PostgreSQL server (made and dropped around each test)."""

from __future__ import annotations

import re
import sqlite3

import pytest

from parley.store import is_postgres, open_store
from tests import postgres

BACKENDS = ("sqlite", "postgres")


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "parley.db")
        return
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
async def store(database_url):
    opened = open_store(database_url)
    await opened.open()
    yield opened
    await opened.close()


async def raw(database_url: str, sql: str, *args) -> list[tuple]:
    """One SQL statement on a connection of its own (as another process would), committed; ``$1``
    placeholders in both dialects (SQLite reads them as ``?1``)."""
    if is_postgres(database_url):
        return await postgres.execute(database_url, sql, *args)
    with sqlite3.connect(database_url) as db:
        return [tuple(row) for row in db.execute(re.sub(r"\$(\d+)", r"?\1", sql), args).fetchall()]
