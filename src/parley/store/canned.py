"""Canned responses of each account (a parley extension), in the embedded store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.domain.canned import CannedResponse

if TYPE_CHECKING:  # the store holds its canned responses: imported here only for the annotation
    from parley.store.sqlite import SqliteStore


class CannedStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def for_account(self, account_id: str) -> list[CannedResponse]:
        """Oldest first: the order agents created them in."""

        def read(db):
            rows = db.execute(
                "SELECT id, account_id, title, text, created_ms FROM canned_responses WHERE account_id = ? ORDER BY id",
                (account_id,),
            )
            return [CannedResponse(*row) for row in rows]

        return await self.store.read(read)

    async def add(self, account_id: str, title: str, text: str, now_ms: int, limit: int) -> int | None:
        """The new id, or None when the account already has ``limit`` (counted in the same transaction)."""

        def job(db):
            count = db.execute("SELECT count(*) FROM canned_responses WHERE account_id = ?", (account_id,)).fetchone()[
                0
            ]
            if count >= limit:
                return None
            return db.execute(
                "INSERT INTO canned_responses (account_id, title, text, created_ms) VALUES (?, ?, ?, ?)",
                (account_id, title, text, now_ms),
            ).lastrowid

        return await self.store.write(job)

    async def remove(self, account_id: str, canned_id: int) -> bool:
        def job(db):
            return (
                db.execute(
                    "DELETE FROM canned_responses WHERE account_id = ? AND id = ?", (account_id, canned_id)
                ).rowcount
                > 0
            )

        return await self.store.write(job)
