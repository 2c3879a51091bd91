"""Webhook subscriptions and their deliveries in the PostgreSQL store: the same rows, semantics and
reasons as their SQLite twin (``store/webhooks.py``): deliveries are inserted in the transaction of
the change they report, by an INSERT ... SELECT over the account's active subscriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg

from parley.domain.webhooks import DELIVERED, FAILED, PENDING, Notification, stored_kinds
from parley.store.protocol import Delivery, DueDelivery, Webhook
from parley.store.webhooks import (
    DELIVERY_COLUMNS,
    HOOK_COLUMNS,
    MAX_ERROR,
    delivery_from_row,
    hook_from_row,
    stream_of,
)

if TYPE_CHECKING:  # the store holds its webhook records: imported here only for the annotation
    from parley.store.postgres.store import PostgresStore

HEADS = (
    f"SELECT {DELIVERY_COLUMNS}, h.url, h.secret FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id"
    " WHERE d.status = 'pending' AND d.head = 1 AND h.active = 1 ORDER BY d.next_attempt_ms, d.id LIMIT $1"
)
INSERT = (
    "INSERT INTO webhook_deliveries (hook_id, chat_id, stream, head, kind, body, status, attempts, created_ms,"
    " next_attempt_ms) SELECT h.id, $1, $2, CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries e"
    " WHERE e.hook_id = h.id AND e.stream = $2 AND e.status = 'pending') THEN 0 ELSE 1 END,"
    " $3, $4, 'pending', 0, $5, $5 FROM webhooks h WHERE h.account_id = $6 AND h.active = 1"
    " AND strpos(h.kinds, $7) > 0"
)
PROMOTE = (
    "UPDATE webhook_deliveries SET head = 1 WHERE id = (SELECT MIN(e.id) FROM webhook_deliveries e"
    " JOIN webhook_deliveries d ON e.hook_id = d.hook_id AND e.stream = d.stream"
    " WHERE d.id = $1 AND e.status = 'pending')"
)


async def insert_deliveries(db: asyncpg.Connection, notifications: list[Notification]) -> None:
    """One delivery per notification and active subscription of its account that asked for its kind
    (each subscription and stream in order: see ``store/webhooks.py``)."""
    if not notifications:
        return
    await db.executemany(
        INSERT,
        [
            (n.chat_id, stream_of(n.chat_id), n.kind, n.body.decode(), n.time_ms, n.account_id, f" {n.kind} ")
            for n in notifications
        ],
    )


class WebhookStore:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def create(self, account_id: str, url: str, kinds: tuple[str, ...], secret: str, now_ms: int) -> int:
        return await self.store.write(
            lambda db: db.fetchval(
                "INSERT INTO webhooks (account_id, url, kinds, secret, active, created_ms)"
                " VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
                account_id,
                url,
                stored_kinds(kinds),
                secret,
                now_ms,
            )
        )

    async def for_account(self, account_id: str) -> list[Webhook]:
        rows = await self.store.read(
            lambda db: db.fetch(f"SELECT {HOOK_COLUMNS} FROM webhooks WHERE account_id = $1 ORDER BY id", account_id)
        )
        return [hook_from_row(row) for row in rows]

    async def get(self, account_id: str, hook_id: int) -> Webhook | None:
        row = await self.store.read(
            lambda db: db.fetchrow(
                f"SELECT {HOOK_COLUMNS} FROM webhooks WHERE account_id = $1 AND id = $2", account_id, hook_id
            )
        )
        return hook_from_row(row) if row is not None else None

    async def update(self, hook: Webhook) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE webhooks SET url = $1, kinds = $2, active = $3 WHERE id = $4 AND account_id = $5",
                hook.url,
                stored_kinds(hook.kinds),
                int(hook.active),
                hook.id,
                hook.account_id,
            )
        )

    async def delete(self, account_id: str, hook_id: int) -> bool:
        async def job(db):
            if await db.fetchval("SELECT 1 FROM webhooks WHERE id = $1 AND account_id = $2", hook_id, account_id):
                await db.execute("DELETE FROM webhook_deliveries WHERE hook_id = $1", hook_id)
                await db.execute("DELETE FROM webhooks WHERE id = $1", hook_id)
                return True
            return False

        return await self.store.write(job)

    async def deliveries(self, hook_id: int, before_id: int | None, limit: int) -> list[Delivery]:
        rows = await self.store.read(
            lambda db: db.fetch(
                f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.hook_id = $1 AND d.id < $2"
                " ORDER BY d.id DESC LIMIT $3",
                hook_id,
                before_id if before_id is not None else 2**63 - 1,
                limit,
            )
        )
        return [delivery_from_row(row) for row in rows]

    async def heads(self, limit: int) -> list[DueDelivery]:
        rows = await self.store.read(lambda db: db.fetch(HEADS, limit))
        return [DueDelivery(delivery_from_row(row), row[13], row[14]) for row in rows]

    async def mark_delivered(self, delivery_id: int, attempts: int, now_ms: int, code: int) -> None:
        await self._done(delivery_id, DELIVERED, attempts, now_ms, code, None)

    async def mark_retry(
        self, delivery_id: int, attempts: int, now_ms: int, next_attempt_ms: int, code: int | None, error: str
    ) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE webhook_deliveries SET attempts = $1, last_attempt_ms = $2, next_attempt_ms = $3,"
                " response_code = $4, last_error = $5 WHERE id = $6 AND status = $7",
                attempts,
                now_ms,
                next_attempt_ms,
                code,
                error[:MAX_ERROR],
                delivery_id,
                PENDING,
            )
        )

    async def mark_failed(self, delivery_id: int, attempts: int, now_ms: int, code: int | None, error: str) -> None:
        await self._done(delivery_id, FAILED, attempts, now_ms, code, error[:MAX_ERROR])

    async def prune(self, done_before_ms: int) -> int:
        """Forget deliveries delivered or failed before then (the log keeps what is recent)."""
        status = await self.store.write(
            lambda db: db.execute(
                "DELETE FROM webhook_deliveries WHERE status != $1 AND done_ms < $2", PENDING, done_before_ms
            )
        )
        return int(status.split()[-1])

    async def _done(
        self, delivery_id: int, status: str, attempts: int, now_ms: int, code: int | None, error: str | None
    ) -> None:
        async def job(db):
            done = await db.execute(
                "UPDATE webhook_deliveries SET status = $1, head = 0, attempts = $2, last_attempt_ms = $3,"
                " done_ms = $3, response_code = $4, last_error = $5 WHERE id = $6 AND status = $7",
                status,
                attempts,
                now_ms,
                code,
                error,
                delivery_id,
                PENDING,
            )
            if done == "UPDATE 1":
                await db.execute(PROMOTE, delivery_id)

        await self.store.write(job)
