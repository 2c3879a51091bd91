"""The mail outbox and the transcript requests waiting for their chat to end, in the embedded store.

A request only ever inserts here (committed before its 2xx); the mail worker reads, sends and
marks. A message leaves the pending set only when sent, or failed for good.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import orjson

from parley.domain.chat import Chat, Event
from parley.domain.mail import Message
from parley.store.protocol import Pending, TranscriptRequest

if TYPE_CHECKING:  # the store holds its outbox: imported here only for the annotation
    from parley.store.sqlite import SqliteStore


def insert_message(
    db: sqlite3.Connection, message: Message, now_ms: int, chat_id: str | None = None, submission_id: int | None = None
) -> int:
    """Queue a message inside the caller's transaction, due at once. ``chat_id``/``submission_id``:
    what it is about, so the retention sweep and an erasure delete it with that."""
    row_id = db.execute(
        "INSERT INTO outbox (recipient, sender, reply_to, subject, body, html, created_ms, next_attempt_ms, chat_id,"
        " submission_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message.recipient,
            message.sender,
            message.reply_to,
            message.subject,
            message.text,
            message.html,
            now_ms,
            now_ms,
            chat_id,
            submission_id,
        ),
    ).lastrowid
    assert row_id is not None  # an INSERT always sets it
    return row_id


class Outbox:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def enqueue(self, message: Message, now_ms: int) -> int:
        return await self.store.write(lambda db: insert_message(db, message, now_ms))

    async def due(self, now_ms: int, limit: int) -> list[Pending]:
        def read(db):
            rows = db.execute(
                "SELECT id, recipient, sender, subject, body, html, reply_to, attempts, created_ms FROM outbox"
                " WHERE sent_ms IS NULL AND failed_ms IS NULL AND next_attempt_ms <= ?"
                " ORDER BY next_attempt_ms, id LIMIT ?",
                (now_ms, limit),
            )
            return [Pending(row[0], Message(*row[1:7]), row[7], row[8]) for row in rows]

        return await self.store.read(read)

    async def next_due_ms(self) -> int | None:
        def read(db):
            return db.execute(
                "SELECT MIN(next_attempt_ms) FROM outbox WHERE sent_ms IS NULL AND failed_ms IS NULL"
            ).fetchone()[0]

        return await self.store.read(read)

    async def mark_sent(self, message_id: int, attempts: int, now_ms: int) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE outbox SET sent_ms = ?, attempts = ?, last_error = NULL WHERE id = ?",
                (now_ms, attempts, message_id),
            )
        )

    async def mark_retry(self, message_id: int, attempts: int, next_attempt_ms: int, error: str) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_ms = ?, last_error = ? WHERE id = ?",
                (attempts, next_attempt_ms, error[:1000], message_id),
            )
        )

    async def mark_failed(self, message_id: int, attempts: int, now_ms: int, error: str) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = ?, failed_ms = ?, last_error = ? WHERE id = ?",
                (attempts, now_ms, error[:1000], message_id),
            )
        )

    # -- transcripts that wait for the end of their chat --------------------------------------

    async def request_transcript(
        self,
        account_id: str,
        chat_id: str,
        email: str,
        subject: str | None,
        timezone_offset_ms: int | None,
        now_ms: int,
        max_recipients: int | None = None,
    ) -> bool:
        """A second request for the same address replaces the first while both wait. False (and
        nothing stored) when the chat already has ``max_recipients`` other addresses, ever."""

        def job(db):
            if max_recipients is not None:
                # Counted in the writing transaction, so parallel requests cannot pass the cap together.
                others = db.execute(
                    "SELECT COUNT(DISTINCT lower(email)) FROM transcript_requests"
                    " WHERE chat_id = ? AND lower(email) != lower(?)",
                    (chat_id, email),
                ).fetchone()[0]
                if others >= max_recipients:
                    return False
            db.execute(
                "DELETE FROM transcript_requests WHERE chat_id = ? AND email = ? AND done_ms IS NULL", (chat_id, email)
            )
            db.execute(
                "INSERT INTO transcript_requests (account_id, chat_id, email, subject, timezone_offset_ms,"
                " requested_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (account_id, chat_id, email, subject, timezone_offset_ms, now_ms),
            )
            return True

        return await self.store.write(job)

    async def chats_with_pending_transcripts(self) -> set[str]:
        return await self.store.read(
            lambda db: {
                row[0] for row in db.execute("SELECT DISTINCT chat_id FROM transcript_requests WHERE done_ms IS NULL")
            }
        )

    async def pending_transcripts(self, chat_id: str) -> list[TranscriptRequest]:
        def read(db):
            rows = db.execute(
                "SELECT id, account_id, chat_id, email, subject, timezone_offset_ms FROM transcript_requests"
                " WHERE chat_id = ? AND done_ms IS NULL ORDER BY id",
                (chat_id,),
            )
            return [TranscriptRequest(*row) for row in rows]

        return await self.store.read(read)

    async def complete_transcripts(self, composed: list[tuple[TranscriptRequest, Message | None]], now_ms: int) -> None:
        """Queue the rendered mails and close their requests in one transaction (None: nothing to send)."""

        def job(db):
            for request, message in composed:
                if message is not None:
                    insert_message(db, message, now_ms, chat_id=request.chat_id)
                db.execute("UPDATE transcript_requests SET done_ms = ? WHERE id = ?", (now_ms, request.id))

        await self.store.write(job)

    async def stored_chat(self, chat_id: str) -> Chat | None:
        """A chat no longer held in memory (ended past retention while we were down), with its events."""
        return await self.store.read(lambda db: _stored_chat(db, chat_id))


def _stored_chat(db: sqlite3.Connection, chat_id: str) -> Chat | None:
    row = db.execute(
        "SELECT id, account_id, rt_session_id, visitor_id, start_ms, chat_timeout, state, ended_ms, visitor_name"
        " FROM chats WHERE id = ?",
        (chat_id,),
    ).fetchone()
    if row is None:
        return None
    chat = Chat(
        id=row[0],
        account_id=row[1],
        rt_session_id=row[2],
        visitor_id=row[3],
        start_ms=row[4],
        chat_timeout=row[5],
        state=row[6],
        ended_ms=row[7],
        visitor_name=row[8],
    )
    for event_id, kind, time_ms, agents_only, fields in db.execute(
        "SELECT id, type, time_ms, agents_only, fields FROM events WHERE chat_id = ? ORDER BY id", (chat_id,)
    ):
        chat.events.append(Event(event_id, kind, time_ms, orjson.loads(fields), bool(agents_only)))
    return chat
