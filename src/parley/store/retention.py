"""Deleting chats with every row about them, in the embedded store: the retention sweep and the
erasure of one visitor (``store/postgres/retention.py`` is its twin, statement for statement).

Every delete is a plain ``DELETE`` of rows (triggers that follow the events table, such as a
full-text index, see them), run as one job of the group-commit writer: a sweep batch holds the
write lock for one bounded transaction, never for the whole history.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import orjson

from parley.domain.refusals import Conflict
from parley.store.protocol import Removal

if TYPE_CHECKING:  # the store holds its retention records: imported here only for the annotation
    from parley.store.sqlite import SqliteStore

# Which chats a sweep or an erasure takes (the indexes chats_account_ended, chats_visitor).
EXPIRED = "account_id = ? AND ended_ms < ?"
OF_VISITOR = "account_id = ? AND visitor_id = ?"
# Offline messages belong to no chat: they age out by the time they were left.
OFFLINE_EXPIRED = "account_id = ? AND chat_id IS NULL AND submitted_ms < ?"


class RetentionStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def sweep(self, account_id: str, ended_before_ms: int, limit: int) -> Removal:
        """Delete up to ``limit`` chats of the account that ended before ``ended_before_ms`` and up
        to ``limit`` offline messages left before it, with their rows, in one transaction. Fewer
        than ``limit`` of both deleted: nothing older is left."""

        def job(db: sqlite3.Connection) -> Removal:
            rows = db.execute(
                f"SELECT id, details FROM chats WHERE {EXPIRED} ORDER BY ended_ms LIMIT ?",
                (account_id, ended_before_ms, limit),
            ).fetchall()
            removal = _remove_chats(db, rows)
            offline = [
                row[0]
                for row in db.execute(
                    f"SELECT id FROM survey_submissions WHERE {OFFLINE_EXPIRED} ORDER BY submitted_ms LIMIT ?",
                    (account_id, ended_before_ms, limit),
                )
            ]
            if offline:
                marks = _marks(offline)
                removal.mails += db.execute(f"DELETE FROM outbox WHERE submission_id IN ({marks})", offline).rowcount
                removal.submissions += db.execute(
                    f"DELETE FROM survey_submissions WHERE id IN ({marks})", offline
                ).rowcount
            return removal

        return await self.store.write(job)

    async def count_expired(self, account_id: str, ended_before_ms: int) -> Removal:
        """What ``sweep`` would delete, all batches together (a dry run: reads only)."""

        def read(db: sqlite3.Connection) -> Removal:
            removal = _count_chats(db, EXPIRED, (account_id, ended_before_ms))
            offline = f"SELECT id FROM survey_submissions WHERE {OFFLINE_EXPIRED}"
            params = (account_id, ended_before_ms)
            removal.submissions += _count(db, f"SELECT count(*) FROM ({offline})", params)
            removal.mails += _count(db, f"SELECT count(*) FROM outbox WHERE submission_id IN ({offline})", params)
            return removal

        return await self.store.read(read)

    async def erase_visitor(self, account_id: str, visitor_id: int) -> Removal:
        """Delete every chat of the visitor with its rows, the participant records those chats
        named, and the visitor, in one transaction. Refused (Conflict) while one of its chats is
        open: the server's view holds that chat; the engine ends it first (``services/retention``)."""

        def job(db: sqlite3.Connection) -> Removal:
            if db.execute(
                f"SELECT 1 FROM chats WHERE {OF_VISITOR} AND ended_ms IS NULL", (account_id, visitor_id)
            ).fetchone():
                raise Conflict(f"visitor {visitor_id} has a chat in progress: end it first")
            rows = db.execute(f"SELECT id, details FROM chats WHERE {OF_VISITOR}", (account_id, visitor_id)).fetchall()
            removal = _remove_chats(db, rows)
            participants = _participants(rows)
            if participants:
                removal.participants = db.execute(
                    f"DELETE FROM participants WHERE account_id = ? AND id IN ({_marks(participants)})",
                    (account_id, *participants),
                ).rowcount
            removal.visitors = db.execute(
                "DELETE FROM visitors WHERE account_id = ? AND id = ?", (account_id, visitor_id)
            ).rowcount
            return removal

        return await self.store.write(job)

    async def count_visitor(self, account_id: str, visitor_id: int) -> Removal:
        """What ``erase_visitor`` would delete (a dry run: reads only)."""

        def read(db: sqlite3.Connection) -> Removal:
            removal = _count_chats(db, OF_VISITOR, (account_id, visitor_id))
            rows = db.execute(f"SELECT id, details FROM chats WHERE {OF_VISITOR}", (account_id, visitor_id)).fetchall()
            participants = _participants(rows)
            if participants:
                removal.participants = _count(
                    db,
                    f"SELECT count(*) FROM participants WHERE account_id = ? AND id IN ({_marks(participants)})",
                    (account_id, *participants),
                )
            removal.visitors = _count(
                db, "SELECT count(*) FROM visitors WHERE account_id = ? AND id = ?", (account_id, visitor_id)
            )
            return removal

        return await self.store.read(read)


def _marks(values: list) -> str:
    return ", ".join("?" * len(values))


def _count(db: sqlite3.Connection, sql: str, params: tuple) -> int:
    return db.execute(sql, params).fetchone()[0]


def _participants(rows: list) -> list[str]:
    """The participant ids (V8) the chats' details name."""
    found = {orjson.loads(details).get("participantId") for _, details in rows}
    return sorted(p for p in found if isinstance(p, str) and p)


def _remove_chats(db: sqlite3.Connection, rows: list) -> Removal:
    """Delete these chats (rows of id, details) and every row about them; children first."""
    ids = [row[0] for row in rows]
    if not ids:
        return Removal()
    marks = _marks(ids)
    removal = Removal(chat_ids=ids)
    removal.events = db.execute(f"DELETE FROM events WHERE chat_id IN ({marks})", ids).rowcount
    removal.mails = db.execute(f"DELETE FROM outbox WHERE chat_id IN ({marks})", ids).rowcount
    removal.mails += db.execute(
        f"DELETE FROM outbox WHERE submission_id IN (SELECT id FROM survey_submissions WHERE chat_id IN ({marks}))",
        ids,
    ).rowcount
    removal.submissions = db.execute(f"DELETE FROM survey_submissions WHERE chat_id IN ({marks})", ids).rowcount
    removal.transcripts = db.execute(f"DELETE FROM transcript_requests WHERE chat_id IN ({marks})", ids).rowcount
    # Webhook deliveries carry the chats' lines in their bodies: pending or logged, they go too.
    removal.webhooks = db.execute(f"DELETE FROM webhook_deliveries WHERE chat_id IN ({marks})", ids).rowcount
    removal.chats = db.execute(f"DELETE FROM chats WHERE id IN ({marks})", ids).rowcount
    return removal


def _count_chats(db: sqlite3.Connection, where: str, params: tuple) -> Removal:
    chats = f"SELECT id FROM chats WHERE {where}"
    submissions = f"SELECT id FROM survey_submissions WHERE chat_id IN ({chats})"
    return Removal(
        chats=_count(db, f"SELECT count(*) FROM ({chats})", params),
        events=_count(db, f"SELECT count(*) FROM events WHERE chat_id IN ({chats})", params),
        submissions=_count(db, f"SELECT count(*) FROM ({submissions})", params),
        transcripts=_count(db, f"SELECT count(*) FROM transcript_requests WHERE chat_id IN ({chats})", params),
        mails=_count(db, f"SELECT count(*) FROM outbox WHERE chat_id IN ({chats})", params)
        + _count(db, f"SELECT count(*) FROM outbox WHERE submission_id IN ({submissions})", params),
        webhooks=_count(db, f"SELECT count(*) FROM webhook_deliveries WHERE chat_id IN ({chats})", params),
    )
