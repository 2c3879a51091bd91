"""Webhook subscriptions and their deliveries, in the embedded store.

Deliveries are a transactional outbox: ``insert_deliveries`` runs inside the transaction of the chat
change or survey answer it reports, so a committed change always has its deliveries and a change that
did not commit has none. The subscriptions are read by that same statement (an INSERT ... SELECT), so
a subscription made or switched off on any node counts from the next change on, with no cache.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from parley.domain.webhooks import DELIVERED, FAILED, PENDING, Notification, parse_kinds, stored_kinds
from parley.store.protocol import Delivery, DueDelivery, Webhook

if TYPE_CHECKING:  # the store holds its webhook records: imported here only for the annotation
    from parley.store.sqlite import SqliteStore

MAX_ERROR = 1000
HOOK_COLUMNS = "id, account_id, url, kinds, secret, active, created_ms"
DELIVERY_COLUMNS = (
    "d.id, d.hook_id, d.chat_id, d.kind, d.body, d.status, d.attempts, d.created_ms, d.next_attempt_ms,"
    " d.last_attempt_ms, d.done_ms, d.response_code, d.last_error"
)
# The heads of active subscriptions, earliest due first: each is the first pending delivery of its
# subscription and stream, so a chat's next delivery waits until the one before it is done (delivered,
# or failed for good). An index holds exactly the pending heads: reading them costs the same whatever
# waits behind them.
HEADS = (
    f"SELECT {DELIVERY_COLUMNS}, h.url, h.secret FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id"
    " WHERE d.status = 'pending' AND d.head = 1 AND h.active = 1 ORDER BY d.next_attempt_ms, d.id LIMIT ?"
)
# A delivery is its stream's head when nothing of its stream is pending before it.
INSERT = (
    "INSERT INTO webhook_deliveries (hook_id, chat_id, stream, head, kind, body, status, attempts, created_ms,"
    " next_attempt_ms) SELECT h.id, ?1, ?2, CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries e"
    " WHERE e.hook_id = h.id AND e.stream = ?2 AND e.status = 'pending') THEN 0 ELSE 1 END,"
    " ?3, ?4, 'pending', 0, ?5, ?5 FROM webhooks h WHERE h.account_id = ?6 AND h.active = 1 AND instr(h.kinds, ?7) > 0"
)
# The delivery ?1 is done: the next pending one of its subscription and stream becomes the head.
PROMOTE = (
    "UPDATE webhook_deliveries SET head = 1 WHERE id = (SELECT MIN(e.id) FROM webhook_deliveries e"
    " JOIN webhook_deliveries d ON e.hook_id = d.hook_id AND e.stream = d.stream"
    " WHERE d.id = ?1 AND e.status = 'pending')"
)


def stream_of(chat_id: str | None) -> str:
    """The order a delivery keeps: its chat's; offline messages (no chat) keep one of their own."""
    return chat_id or ""


def insert_deliveries(db: sqlite3.Connection, notifications: list[Notification]) -> None:
    """One delivery per notification and active subscription of its account that asked for its kind."""
    if not notifications:
        return
    db.executemany(
        INSERT,
        [
            (n.chat_id, stream_of(n.chat_id), n.kind, n.body.decode(), n.time_ms, n.account_id, f" {n.kind} ")
            for n in notifications
        ],
    )


def hook_from_row(row) -> Webhook:
    return Webhook(row[0], row[1], row[2], parse_kinds(row[3]), row[4], bool(row[5]), row[6])


def delivery_from_row(row) -> Delivery:
    body = row[4].encode() if isinstance(row[4], str) else bytes(row[4])
    return Delivery(row[0], row[1], row[2], row[3], body, *row[5:13])


class WebhookStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def create(self, account_id: str, url: str, kinds: tuple[str, ...], secret: str, now_ms: int) -> int:
        def job(db):
            return db.execute(
                "INSERT INTO webhooks (account_id, url, kinds, secret, active, created_ms) VALUES (?, ?, ?, ?, 1, ?)",
                (account_id, url, stored_kinds(kinds), secret, now_ms),
            ).lastrowid

        return await self.store.write(job)

    async def for_account(self, account_id: str) -> list[Webhook]:
        def read(db):
            rows = db.execute(f"SELECT {HOOK_COLUMNS} FROM webhooks WHERE account_id = ? ORDER BY id", (account_id,))
            return [hook_from_row(row) for row in rows]

        return await self.store.read(read)

    async def get(self, account_id: str, hook_id: int) -> Webhook | None:
        def read(db):
            return db.execute(
                f"SELECT {HOOK_COLUMNS} FROM webhooks WHERE account_id = ? AND id = ?", (account_id, hook_id)
            ).fetchone()

        row = await self.store.read(read)
        return hook_from_row(row) if row is not None else None

    async def update(self, hook: Webhook) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE webhooks SET url = ?, kinds = ?, active = ? WHERE id = ? AND account_id = ?",
                (hook.url, stored_kinds(hook.kinds), int(hook.active), hook.id, hook.account_id),
            )
        )

    async def delete(self, account_id: str, hook_id: int) -> bool:
        def job(db):
            # Its deliveries go with it (the log of a subscription that no longer exists names nothing).
            if db.execute("SELECT 1 FROM webhooks WHERE id = ? AND account_id = ?", (hook_id, account_id)).fetchone():
                db.execute("DELETE FROM webhook_deliveries WHERE hook_id = ?", (hook_id,))
                db.execute("DELETE FROM webhooks WHERE id = ?", (hook_id,))
                return True
            return False

        return await self.store.write(job)

    async def deliveries(self, hook_id: int, before_id: int | None, limit: int) -> list[Delivery]:
        def read(db):
            rows = db.execute(
                f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.hook_id = ? AND d.id < ?"
                " ORDER BY d.id DESC LIMIT ?",
                (hook_id, before_id if before_id is not None else 2**63 - 1, limit),
            )
            return [delivery_from_row(row) for row in rows]

        return await self.store.read(read)

    async def heads(self, limit: int) -> list[DueDelivery]:
        def read(db):
            return [DueDelivery(delivery_from_row(row), row[13], row[14]) for row in db.execute(HEADS, (limit,))]

        return await self.store.read(read)

    async def mark_delivered(self, delivery_id: int, attempts: int, now_ms: int, code: int) -> None:
        await self._done(delivery_id, DELIVERED, attempts, now_ms, code, None)

    async def mark_retry(
        self, delivery_id: int, attempts: int, now_ms: int, next_attempt_ms: int, code: int | None, error: str
    ) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE webhook_deliveries SET attempts = ?, last_attempt_ms = ?, next_attempt_ms = ?,"
                " response_code = ?, last_error = ? WHERE id = ? AND status = ?",
                (attempts, now_ms, next_attempt_ms, code, error[:MAX_ERROR], delivery_id, PENDING),
            )
        )

    async def mark_failed(self, delivery_id: int, attempts: int, now_ms: int, code: int | None, error: str) -> None:
        await self._done(delivery_id, FAILED, attempts, now_ms, code, error[:MAX_ERROR])

    async def prune(self, done_before_ms: int) -> int:
        """Forget deliveries delivered or failed before then (the log keeps what is recent)."""
        return await self.store.write(
            lambda db: (
                db.execute(
                    "DELETE FROM webhook_deliveries WHERE status != ? AND done_ms < ?", (PENDING, done_before_ms)
                ).rowcount
            )
        )

    async def _done(
        self, delivery_id: int, status: str, attempts: int, now_ms: int, code: int | None, error: str | None
    ) -> None:
        def job(db):
            done = db.execute(
                "UPDATE webhook_deliveries SET status = ?, head = 0, attempts = ?, last_attempt_ms = ?, done_ms = ?,"
                " response_code = ?, last_error = ? WHERE id = ? AND status = ?",
                (status, attempts, now_ms, now_ms, code, error, delivery_id, PENDING),
            ).rowcount
            if done:
                db.execute(PROMOTE, (delivery_id,))

        await self.store.write(job)
