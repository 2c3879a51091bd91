"""The connections to one PostgreSQL database: one writer with group commit, a small read pool,
the schema migration, and the translation of driver failures into ``StoreUnavailable``.

Same contract as the embedded store's ``writer``: a write is answered only after the transaction
holding it committed; writes that queue while one transaction commits go together in the next
(bounded), each in its own savepoint so one failing job does not undo its neighbours. Every call
waits at most ``timeout`` seconds: a database that stopped answering (down, or black-holed by the
network) costs a request a bounded wait and a 503, never a hung request. Both the writer and the
pool reconnect by themselves once the database answers again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from parley.store.migrations import STEPS
from parley.store.protocol import NotLeading, StoreUnavailable

log = logging.getLogger("parley.store")

Job = Callable[[asyncpg.Connection], Awaitable[Any]]

# Bounds one transaction so a flood of writes cannot hold row locks (and every waiter) for long.
MAX_BATCH = 256
# Reads of one server are short and served from memory mostly (the engine holds live chats).
READERS = 4
# A request waits at most this long for the store; a connection attempt at most CONNECT_TIMEOUT.
TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0
# pg_advisory_xact_lock key serialising ``migrate`` across processes (any constant; "parley" in hex).
MIGRATION_LOCK = 0x7061726C6579
# pg_try_advisory_lock key of the cluster's leadership ("parleyL"), held by the leader's lock
# connection for as long as it lives.
LEADERSHIP_LOCK = 0x7061726C65794C

# What "cannot reach the database" looks like through asyncpg: refused or broken sockets, a
# connection that died, a server shutting down or refusing connections, too many clients, a
# database that does not exist or refuses us, and no answer in time.
UNREACHABLE = (
    OSError,  # includes TimeoutError and ConnectionError
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # "connection is closed" (a connection lost under a pooled handle)
    asyncpg.InternalClientError,  # the server ended the connection while the driver was between states
    asyncpg.exceptions.OperatorInterventionError,  # shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
    asyncpg.exceptions.InvalidCatalogNameError,  # no such database
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)


def shown(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _now_ms() -> int:
    return int(time.time() * 1000)


class Database:
    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = url
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._connection: asyncpg.Connection | None = None  # the writer's
        self._queue: asyncio.Queue | None = None
        self._writer: asyncio.Task | None = None
        self._lock_connection: asyncpg.Connection | None = None  # holds the leadership lock
        # The leadership term this process leads, once it does: every write transaction checks it.
        self.epoch: int | None = None

    def unavailable(self, exc: BaseException) -> StoreUnavailable:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, asyncpg.exceptions.InvalidCatalogNameError):
            reason = f"the database does not exist ({reason}); create it first (createdb)"
        elif isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            reason = f"no answer within {self.timeout:g} s"
        return StoreUnavailable(f"PostgreSQL at {shown(self.url)} is unavailable: {reason}")

    # -- life ------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, migrate the schema, start the writer. Raises ``StoreUnavailable``."""
        try:
            self._connection = await self._connect()
            await asyncio.wait_for(migrate(self._connection), self.timeout * 6)
            # min_size 0: the pool connects on demand, so it also comes back by itself after an outage.
            self._pool = await asyncpg.create_pool(
                self.url, min_size=0, max_size=READERS, timeout=CONNECT_TIMEOUT_SECONDS, command_timeout=self.timeout
            )
        except UNREACHABLE as exc:
            await self._drop_writer_connection()
            raise self.unavailable(exc) from None
        self._queue = asyncio.Queue()
        self._writer = asyncio.create_task(self._run(), name="parley-postgres-writer")

    async def close(self) -> None:
        if self._writer is not None and self._queue is not None:
            self._queue.put_nowait(None)
            await self._writer
            self._writer = None
        await self._drop_writer_connection()
        await self._drop_lock_connection()
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), CONNECT_TIMEOUT_SECONDS)
            except (TimeoutError, *UNREACHABLE):
                self._pool.terminate()
            self._pool = None

    # -- leadership (many nodes) -----------------------------------------------------------

    async def lead(self) -> bool:
        """Try once to take the lead: the advisory lock, then a new term whose epoch fences the
        writes of every earlier leader (``_transaction`` checks it)."""
        try:
            if self._lock_connection is None or self._lock_connection.is_closed():
                self._lock_connection = await self._connect()
            db = self._lock_connection
            if not await db.fetchval("SELECT pg_try_advisory_lock($1)", LEADERSHIP_LOCK):
                return False
            self.epoch = await db.fetchval(
                "INSERT INTO leadership (id, epoch, since_ms) VALUES (1, 1, $1) ON CONFLICT (id) DO UPDATE"
                " SET epoch = leadership.epoch + 1, address = NULL, secret = NULL, since_ms = $1 RETURNING epoch",
                _now_ms(),
            )
            return True
        except UNREACHABLE as exc:
            await self._drop_lock_connection()
            raise self.unavailable(exc) from None

    async def leading(self) -> bool:
        """Still the leader: the term is still ours (after an outage the lock is taken again on a
        new connection, and the term kept if no other node started one meanwhile)."""
        if self.epoch is None:
            return False
        try:
            if self._lock_connection is None or self._lock_connection.is_closed():
                self._lock_connection = await self._connect()
                if not await self._lock_connection.fetchval("SELECT pg_try_advisory_lock($1)", LEADERSHIP_LOCK):
                    return False
            return await self._lock_connection.fetchval("SELECT epoch FROM leadership WHERE id = 1") == self.epoch
        except UNREACHABLE as exc:
            await self._drop_lock_connection()
            raise self.unavailable(exc) from None

    async def announce(self, address: str, secret: str) -> None:
        await self.write(
            lambda db: db.execute("UPDATE leadership SET address = $1, secret = $2 WHERE id = 1", address, secret)
        )

    async def _drop_lock_connection(self) -> None:
        connection, self._lock_connection = self._lock_connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT_SECONDS, command_timeout=self.timeout)

    async def _drop_writer_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()  # a broken connection cannot say goodbye; do not wait for it

    # -- reads -----------------------------------------------------------------------------

    async def read(self, fn: Job) -> Any:
        """Run ``fn(connection)`` on a pooled connection; one retry when the pooled connection
        turns out to be dead (the server restarted since it was opened): a read is safe to repeat."""
        if self._pool is None:
            raise StoreUnavailable("the store is not open")

        async def attempt() -> Any:
            for tries_left in (1, 0):
                try:
                    async with self._pool.acquire() as connection:
                        return await fn(connection)
                except (
                    asyncpg.PostgresConnectionError,
                    asyncpg.InterfaceError,
                    asyncpg.InternalClientError,
                    asyncpg.exceptions.AdminShutdownError,
                    ConnectionError,
                ):
                    if not tries_left:
                        raise
                    # Its idle siblings died with it (the server went away): renew them all.
                    await self._pool.expire_connections()

        try:
            return await asyncio.wait_for(attempt(), self.timeout)
        except UNREACHABLE as exc:
            raise self.unavailable(exc) from None

    async def snapshot(self, fn: Job) -> Any:
        """A read of several tables that must agree with each other (one REPEATABLE READ view)."""

        async def in_transaction(connection: asyncpg.Connection) -> Any:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                return await fn(connection)

        return await self.read(in_transaction)

    # -- writes: group commit ------------------------------------------------------------------

    async def write(self, job: Job) -> Any:
        """Run ``job(connection)`` in the next group commit; returns once it committed.

        The writer, not the caller, bounds the wait (``timeout`` per batch), so a caller never
        stops waiting while its transaction might still commit: a 503 means "not written",
        except in the one case no client can know (below, ``_commit``)."""
        if self._queue is None:
            raise StoreUnavailable("the store is not open")
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((job, future))
        try:  # a safety net only: the writer answers within its own bound long before this
            return await asyncio.wait_for(future, self.timeout * 3)
        except TimeoutError:
            raise self.unavailable(TimeoutError()) from None

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    self._queue.put_nowait(None)  # stop after this batch
                    break
                batch.append(item)
            batch = [(job, future) for job, future in batch if not future.done()]
            if not batch:
                continue
            try:
                outcomes = await self._commit(batch)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # never let the writer die with callers waiting
                outcomes = [(False, exc)] * len(batch)
            for (ok, value), (_, future) in zip(outcomes, batch):
                if not future.done():
                    future.set_result(value) if ok else future.set_exception(value)

    async def _commit(self, batch: list) -> list[tuple[bool, Any]]:
        """One transaction for the batch, answered within ``timeout``.

        A writer connection found dead before BEGIN went through (nothing done yet) is replaced
        and the batch runs on the new one. A batch that gets no answer in time has its connection
        closed, which rolls it back, and is answered StoreUnavailable. The one unknowable case:
        the COMMIT was sent and no answer came (a server frozen after reading it may still apply
        it); it is logged with its transaction id, so an operator can tell."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        for tries_left in (1, 0):
            attempt = _Attempt()
            try:
                left = max(0.05, deadline - asyncio.get_running_loop().time())
                return await asyncio.wait_for(self._transaction(batch, attempt), left)
            except UNREACHABLE as exc:
                await self._drop_writer_connection()
                if attempt.committing is not None:
                    log.error(
                        "PostgreSQL did not answer a COMMIT (transaction %s): its %d write(s) were answered"
                        " 503 but may have been applied",
                        attempt.committing,
                        len(batch),
                    )
                if tries_left and not attempt.began:
                    continue
                log.warning("store write failed: %s", self.unavailable(exc))
                return [(False, self.unavailable(exc))] * len(batch)
            except Exception as exc:  # BEGIN or COMMIT refused for another reason: start clean
                await self._drop_writer_connection()
                return [(False, exc)] * len(batch)
        raise AssertionError("unreachable")

    async def _begin(self, db: asyncpg.Connection) -> int:
        """BEGIN, and the transaction's id. A leader's transaction first passes the fence: a leader
        whose term another node replaced commits nothing (FOR SHARE makes a new term wait for the
        transactions of the old one that already passed it)."""
        await db.execute("BEGIN")
        if self.epoch is not None:
            epoch = await db.fetchval("SELECT epoch FROM leadership WHERE id = 1 FOR SHARE")
            if epoch != self.epoch:
                await db.execute("ROLLBACK")
                raise NotLeading(f"term {self.epoch} ended: another node leads (term {epoch})")
        return await db.fetchval("SELECT txid_current()")

    async def _transaction(self, batch: list, attempt: _Attempt) -> list[tuple[bool, Any]]:
        if self._connection is None or self._connection.is_closed():
            self._connection = await self._connect()
        db = self._connection
        txid = await self._begin(db)
        attempt.began = True
        try:
            # Optimistic first: a savepoint per job costs two more round trips each, and jobs
            # almost never fail. Jobs only touch the database, so one that fails rolls the whole
            # batch back and the batch runs again with savepoints (below).
            outcomes = [(True, await job(db)) for job, _ in batch] if len(batch) > 1 else None
        except UNREACHABLE:
            raise
        except Exception:
            await db.execute("ROLLBACK")
            txid = await self._begin(db)
            outcomes = None
        if outcomes is None:
            outcomes = []
            for job, _ in batch:
                # A savepoint per job: one failing write must not undo its neighbours.
                await db.execute("SAVEPOINT job")
                try:
                    outcomes.append((True, await job(db)))
                except UNREACHABLE:
                    raise
                except Exception as exc:
                    await db.execute("ROLLBACK TO SAVEPOINT job")
                    outcomes.append((False, exc))
                await db.execute("RELEASE SAVEPOINT job")
        attempt.committing = txid
        await db.execute("COMMIT")
        return outcomes


class _Attempt:
    """How far one try of a batch got: BEGIN done; COMMIT sent (the transaction's id)."""

    def __init__(self) -> None:
        self.began = False
        self.committing: int | None = None


async def migrate(connection: asyncpg.Connection) -> int:
    """Apply the missing steps in one transaction, under an advisory lock: two processes that
    migrate at once take turns, and the second finds everything applied."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)"
        )
        applied = {row[0] for row in await connection.fetch("SELECT version FROM schema_migrations")}
        for version, step in enumerate(STEPS, start=1):
            if version in applied:
                continue
            script = step.script("postgres")
            if script.strip():
                await connection.execute(script)  # no arguments: the simple protocol runs the whole script
            await connection.execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)", version, _now_ms()
            )
    return len(STEPS)
