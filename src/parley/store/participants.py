"""Authenticated visitors (server spec V8) and the claims their identity provider gave."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from parley.store.sqlite import SqliteStore


@dataclass
class ParticipantRecord:
    id: str
    account_id: str
    conversation_id: str
    claims: dict


async def insert_participant(store: SqliteStore, record: ParticipantRecord) -> None:
    def job(db):
        db.execute(
            "INSERT INTO participants (id, account_id, conversation_id, claims, created_ms) VALUES (?, ?, ?, ?, ?)",
            (record.id, record.account_id, record.conversation_id, orjson.dumps(record.claims).decode(),
             int(time.time() * 1000)),
        )

    await store.write(job)


async def load_participant(store: SqliteStore, account_id: str, participant_id: str) -> ParticipantRecord | None:
    def read(db):
        return db.execute(
            "SELECT id, account_id, conversation_id, claims FROM participants WHERE account_id = ? AND id = ?",
            (account_id, participant_id),
        ).fetchone()

    row = await store.read(read)
    return ParticipantRecord(row[0], row[1], row[2], orjson.loads(row[3])) if row else None
