"""Bots' application credentials in the PostgreSQL store: the same rows and semantics as their
SQLite twin (``store/credentials.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.store.protocol import AppCredentialRecord

if TYPE_CHECKING:  # the store holds its credentials: imported here only for the annotation
    from parley.store.postgres.store import PostgresStore


class AppCredentialStore:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def add(self, agent_id: int, credentials_digest: str, now_ms: int) -> int:
        return await self.store.write(
            lambda db: db.fetchval(
                "INSERT INTO app_credentials (agent_id, credentials_digest, created_ms) VALUES ($1, $2, $3)"
                " RETURNING id",
                agent_id,
                credentials_digest,
                now_ms,
            )
        )

    async def for_agent(self, agent_id: int) -> list[AppCredentialRecord]:
        rows = await self.store.read(
            lambda db: db.fetch(
                "SELECT id, agent_id, created_ms FROM app_credentials WHERE agent_id = $1 ORDER BY id", agent_id
            )
        )
        return [AppCredentialRecord(*row) for row in rows]

    async def agent_of(self, credentials_digest: str) -> int | None:
        return await self.store.read(
            lambda db: db.fetchval(
                "SELECT agent_id FROM app_credentials WHERE credentials_digest = $1", credentials_digest
            )
        )

    async def remove(self, agent_id: int, credential_id: int) -> bool:
        status = await self.store.write(
            lambda db: db.execute(
                "DELETE FROM app_credentials WHERE agent_id = $1 AND id = $2", agent_id, credential_id
            )
        )
        return status != "DELETE 0"
