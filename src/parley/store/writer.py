"""Group commit: one thread owns the write connection and commits whatever queued up together.

While one transaction commits, new writes queue; the next transaction takes them all. Under
load that turns many fsyncs into one, so full durability stays cheap (DESIGN §3), and a
request is answered only after the transaction holding its write has committed.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from parley.store.protocol import Commits

Job = Callable[[sqlite3.Connection], Any]

# Bounds one transaction so a flood of writes cannot hold the lock (and every waiter) for long.
MAX_BATCH = 256


class GroupCommitWriter:
    def __init__(self, connect: Callable[[], sqlite3.Connection], commits: Commits) -> None:
        self._connect = connect
        self.commits = commits
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="parley-sqlite-writer", daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    async def submit(self, job: Job) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((job, loop, future))
        return await future

    def _run(self) -> None:
        try:
            connection = self._connect()
        except BaseException as exc:  # reported to start(), which re-raises in the caller
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)
                        break
                    batch.append(item)
                self._commit(connection, batch)
        finally:
            connection.close()

    def _commit(self, connection: sqlite3.Connection, batch: list) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for job, _, _ in batch:
                # A savepoint per job: one failing write must not undo its neighbours.
                connection.execute("SAVEPOINT job")
                try:
                    outcomes.append((True, job(connection)))
                    connection.execute("RELEASE job")
                except Exception as exc:
                    connection.execute("ROLLBACK TO job")
                    connection.execute("RELEASE job")
                    outcomes.append((False, exc))
            connection.execute("COMMIT")
            self.commits.count(len(batch))
        except Exception as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            outcomes = [(False, exc)] * len(batch)
        # One wake-up of each event loop per batch, not one per write: each call_soon_threadsafe
        # writes to the loop's self-pipe and takes the GIL (about a tenth of a line's cost, profiled).
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for outcome, (_, loop, future) in zip(outcomes, batch, strict=True):
            by_loop.setdefault(loop, []).append((future, outcome))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future, tuple[bool, Any]]]) -> None:
    for future, (ok, value) in settled:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
