"""The PostgreSQL store's group commit (``store/postgres/database.py``), on a real database: the
same promises as the SQLite writer's (``test_writer.py``)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from parley.store import StoreUnavailable
from parley.store.postgres.database import Database
from tests import postgres


@pytest.fixture
async def database():
    url = postgres.create_database()
    opened = Database(url)
    await opened.open()
    await opened.write(lambda db: db.execute("CREATE TABLE t (name TEXT UNIQUE)"))
    yield opened
    await opened.close()
    postgres.drop_database(url)


def insert(name):
    async def job(db):
        await db.execute("INSERT INTO t VALUES ($1)", name)
        return await db.fetchval("SELECT txid_current()")

    return job


async def rows(database) -> list[str]:
    return [row[0] for row in await database.read(lambda db: db.fetch("SELECT name FROM t ORDER BY name"))]


async def submit_together(database, jobs) -> list:
    """Jobs submitted while the writer is busy with another: they queue, and go in one batch."""
    release = asyncio.Event()

    async def blocker(db):
        await release.wait()

    held = asyncio.ensure_future(database.write(blocker))
    await asyncio.sleep(0.05)  # the writer has taken the blocker
    tasks = [asyncio.ensure_future(database.write(job)) for job in jobs]
    await asyncio.sleep(0)
    release.set()
    await held
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_committed_write_is_visible_to_other_connections(database):
    await database.write(insert("a"))
    assert await postgres.execute(database.url, "SELECT name FROM t") == [("a",)]


async def test_queued_jobs_share_one_transaction(database):
    results = await submit_together(database, [insert(f"r{i:02d}") for i in range(20)])
    assert len(set(results)) == 1  # one transaction id for all twenty
    assert len(await rows(database)) == 20


async def test_a_failing_job_does_not_undo_its_neighbours_in_the_same_commit(database):
    async def fail_after_writing(db):
        await db.execute("INSERT INTO t VALUES ('doomed')")
        raise RuntimeError("boom")

    results = await submit_together(database, [insert("a"), insert("b"), fail_after_writing, insert("c")])
    assert isinstance(results[2], RuntimeError)
    assert len({r for i, r in enumerate(results) if i != 2}) == 1  # really in the same transaction
    assert await rows(database) == ["a", "b", "c"]


async def test_a_constraint_violation_fails_only_its_own_job(database):
    results = await submit_together(database, [insert("x"), insert("x"), insert("y")])
    assert [isinstance(r, asyncpg.UniqueViolationError) for r in results] == [False, True, False]
    assert await rows(database) == ["x", "y"]


async def test_the_writer_keeps_working_after_a_failure(database):
    with pytest.raises(ZeroDivisionError):
        await database.write(lambda db: 1 / 0)
    await database.write(insert("after"))
    assert await rows(database) == ["after"]


async def test_a_lost_writer_connection_is_replaced_without_failing_the_next_write(database):
    """The server closed our connection (a restart, an idle timeout): the next write reconnects."""
    pid = await database.write(lambda db: db.fetchval("SELECT pg_backend_pid()"))
    await postgres.execute(database.url, "SELECT pg_terminate_backend($1)", pid)
    await database.write(insert("after"))
    assert await rows(database) == ["after"]


async def test_a_database_that_does_not_answer_in_time_fails_the_write_and_rolls_it_back(database):
    """A job stuck beyond the store's bound is answered StoreUnavailable, and nothing of it stays."""
    database.timeout = 0.5

    async def stuck(db):
        await db.execute("INSERT INTO t VALUES ('stuck')")
        await db.execute("SELECT pg_sleep(5)")

    with pytest.raises(StoreUnavailable):
        await database.write(stuck)
    await database.write(insert("after"))
    assert await rows(database) == ["after"]


async def test_reads_survive_their_pooled_connections_being_ended(database):
    """Every pooled connection ended by the server (as by a restart): the next reads reconnect."""
    await asyncio.gather(*(database.read(lambda db: db.fetchval("SELECT pg_sleep(0.05)")) for _ in range(4)))
    await postgres.execute(
        database.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid != pg_backend_pid()",
    )
    for _ in range(4):
        assert await rows(database) == []
