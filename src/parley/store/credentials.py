"""Bots' application credentials (one row per set: its agent, the digest of its four values), in
the embedded store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.store.protocol import AppCredentialRecord

if TYPE_CHECKING:  # the store holds its credentials: imported here only for the annotation
    from parley.store.sqlite import SqliteStore


class AppCredentialStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def add(self, agent_id: int, credentials_digest: str, now_ms: int) -> int:
        def job(db):
            return db.execute(
                "INSERT INTO app_credentials (agent_id, credentials_digest, created_ms) VALUES (?, ?, ?)",
                (agent_id, credentials_digest, now_ms),
            ).lastrowid

        return await self.store.write(job)

    async def for_agent(self, agent_id: int) -> list[AppCredentialRecord]:
        def read(db):
            rows = db.execute(
                "SELECT id, agent_id, created_ms FROM app_credentials WHERE agent_id = ? ORDER BY id", (agent_id,)
            )
            return [AppCredentialRecord(*row) for row in rows]

        return await self.store.read(read)

    async def agent_of(self, credentials_digest: str) -> int | None:
        row = await self.store.read(
            lambda db: db.execute(
                "SELECT agent_id FROM app_credentials WHERE credentials_digest = ?", (credentials_digest,)
            ).fetchone()
        )
        return None if row is None else row[0]

    async def remove(self, agent_id: int, credential_id: int) -> bool:
        def job(db):
            return (
                db.execute(
                    "DELETE FROM app_credentials WHERE agent_id = ? AND id = ?", (agent_id, credential_id)
                ).rowcount
                > 0
            )

        return await self.store.write(job)
