"""Authenticated visitors (server spec V8) and the claims their identity provider gave, in the
embedded store."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import orjson

from parley.store.protocol import ParticipantRecord

if TYPE_CHECKING:  # the store holds its participants: imported here only for the annotation
    from parley.store.sqlite import SqliteStore


class Participants:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def insert(self, record: ParticipantRecord) -> None:
        def job(db):
            db.execute(
                "INSERT INTO participants (id, account_id, conversation_id, claims, created_ms) VALUES (?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.account_id,
                    record.conversation_id,
                    orjson.dumps(record.claims).decode(),
                    int(time.time() * 1000),
                ),
            )

        await self.store.write(job)

    async def load(self, account_id: str, participant_id: str) -> ParticipantRecord | None:
        def read(db):
            return db.execute(
                "SELECT id, account_id, conversation_id, claims FROM participants WHERE account_id = ? AND id = ?",
                (account_id, participant_id),
            ).fetchone()

        row = await self.store.read(read)
        return ParticipantRecord(row[0], row[1], row[2], orjson.loads(row[3])) if row else None
