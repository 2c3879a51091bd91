import asyncio
import sqlite3
import threading

import pytest

from parley.store.protocol import Commits
from parley.store.writer import GroupCommitWriter


class TracedWriter:
    """A writer on a temporary file that records the SQL it runs (to count COMMITs)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.statements: list[str] = []
        self.counted = Commits()
        self.writer = GroupCommitWriter(self._connect, self.counted)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.set_trace_callback(self.statements.append)
        return db

    def commits(self) -> int:
        return sum(1 for s in self.statements if s.strip().upper() == "COMMIT")

    async def hold(self):
        """Occupy the writer thread until the returned event is set, so later jobs queue up together."""
        started, release = threading.Event(), threading.Event()

        def blocker(db):
            started.set()
            release.wait()

        task = asyncio.ensure_future(self.writer.submit(blocker))
        await asyncio.to_thread(started.wait)
        return release, task

    def rows(self) -> list[str]:
        with sqlite3.connect(self.path) as db:
            return [row[0] for row in db.execute("SELECT name FROM t ORDER BY name")]


@pytest.fixture
def traced(tmp_path):
    running = TracedWriter(str(tmp_path / "w.db"))
    running.writer.start()
    yield running
    running.writer.stop()


def insert(name):
    return lambda db: db.execute("INSERT INTO t VALUES (?)", (name,))


async def submit_together(traced: TracedWriter, jobs) -> list:
    """Submit jobs while the writer is held, so that they land in one group commit."""
    release, held = await traced.hold()
    tasks = [asyncio.ensure_future(traced.writer.submit(job)) for job in jobs]
    await asyncio.sleep(0)  # let every task enqueue its job
    commits_before = traced.commits()
    release.set()
    await held
    results = await asyncio.gather(*tasks, return_exceptions=True)
    traced.group_commits = traced.commits() - commits_before
    return results


async def test_the_commits_are_counted_with_the_writes_they_carried(traced):
    await traced.writer.submit(lambda db: db.execute("CREATE TABLE t (name TEXT)"))
    before = (traced.counted.transactions, traced.counted.writes)
    await submit_together(traced, [insert(str(n)) for n in range(5)])
    # The blocker's transaction, then one group commit holding the five inserts.
    assert (traced.counted.transactions - before[0], traced.counted.writes - before[1]) == (2, 6)


async def test_submit_returns_the_job_result(traced):
    assert await traced.writer.submit(lambda db: db.execute("SELECT 41 + 1").fetchone()[0]) == 42


async def test_committed_writes_are_visible_to_another_connection(traced):
    await traced.writer.submit(lambda db: db.execute("CREATE TABLE t (name TEXT)"))
    await traced.writer.submit(insert("a"))
    # Answered means committed: another connection already sees the row.
    assert traced.rows() == ["a"]


async def test_queued_jobs_share_one_commit(traced):
    await traced.writer.submit(lambda db: db.execute("CREATE TABLE t (name TEXT)"))
    await submit_together(traced, [insert(f"r{i:02d}") for i in range(20)])
    # One commit for the held job's group, one for the twenty that queued behind it.
    assert traced.group_commits == 2
    assert len(traced.rows()) == 20


async def test_a_failing_job_does_not_undo_its_neighbours_in_the_same_commit(traced):
    await traced.writer.submit(lambda db: db.execute("CREATE TABLE t (name TEXT)"))

    def fail_after_writing(db):
        db.execute("INSERT INTO t VALUES ('doomed')")
        raise RuntimeError("boom")

    results = await submit_together(traced, [insert("a"), insert("b"), fail_after_writing, insert("c")])

    assert traced.group_commits == 2  # the failing job really was in the same group
    assert isinstance(results[2], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 2 and isinstance(r, BaseException)] == []
    assert traced.rows() == ["a", "b", "c"]


async def test_a_constraint_violation_fails_only_its_own_job(traced):
    await traced.writer.submit(lambda db: db.execute("CREATE TABLE t (name TEXT UNIQUE)"))
    results = await submit_together(traced, [insert("x"), insert("x"), insert("y")])
    assert [isinstance(r, sqlite3.IntegrityError) for r in results] == [False, True, False]
    assert traced.rows() == ["x", "y"]


async def test_the_writer_keeps_working_after_a_failure(traced):
    await traced.writer.submit(lambda db: db.execute("CREATE TABLE t (name TEXT)"))
    with pytest.raises(ZeroDivisionError):
        await traced.writer.submit(lambda db: 1 / 0)
    await traced.writer.submit(insert("after"))
    assert traced.rows() == ["after"]


def test_startup_error_is_raised_by_start():
    def broken():
        raise sqlite3.OperationalError("cannot open")

    with pytest.raises(sqlite3.OperationalError):
        GroupCommitWriter(broken, Commits()).start()
