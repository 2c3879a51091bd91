"""The records of other concepts in the PostgreSQL store: the mail outbox and transcript requests,
survey definitions and submissions, authenticated participants, canned responses. Same semantics,
same rows and the same comments' reasons as their SQLite twins (``store/outbox.py``, ``surveys.py``,
``participants.py``, ``canned.py``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import asyncpg
import orjson

from parley.domain import survey as surveys
from parley.domain.canned import CannedResponse
from parley.domain.chat import Chat, Event
from parley.domain.mail import Message
from parley.domain.refusals import Invalid
from parley.domain.survey import Answer, Definition
from parley.domain.webhooks import submission_notification
from parley.store.postgres.webhooks import insert_deliveries
from parley.store.protocol import ParticipantRecord, Pending, Submission, TranscriptRequest
from parley.store.surveys import answers_tree

if TYPE_CHECKING:  # the store holds its records: imported here only for the annotation
    from parley.store.postgres.store import PostgresStore


async def insert_message(
    db: asyncpg.Connection, message: Message, now_ms: int, chat_id: str | None = None, submission_id: int | None = None
) -> int:
    """Queue a message inside the caller's transaction, due at once. ``chat_id``/``submission_id``:
    what it is about, so the retention sweep and an erasure delete it with that."""
    return await db.fetchval(
        "INSERT INTO outbox (recipient, sender, reply_to, subject, body, html, created_ms, next_attempt_ms, chat_id,"
        " submission_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
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
    )


class Outbox:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def enqueue(self, message: Message, now_ms: int) -> int:
        return await self.store.write(lambda db: insert_message(db, message, now_ms))

    async def due(self, now_ms: int, limit: int) -> list[Pending]:
        rows = await self.store.read(
            lambda db: db.fetch(
                "SELECT id, recipient, sender, subject, body, html, reply_to, attempts, created_ms FROM outbox"
                " WHERE sent_ms IS NULL AND failed_ms IS NULL AND next_attempt_ms <= $1"
                " ORDER BY next_attempt_ms, id LIMIT $2",
                now_ms,
                limit,
            )
        )
        return [Pending(row[0], Message(*row[1:7]), row[7], row[8]) for row in rows]

    async def next_due_ms(self) -> int | None:
        return await self.store.read(
            lambda db: db.fetchval(
                "SELECT MIN(next_attempt_ms) FROM outbox WHERE sent_ms IS NULL AND failed_ms IS NULL"
            )
        )

    async def mark_sent(self, message_id: int, attempts: int, now_ms: int) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE outbox SET sent_ms = $1, attempts = $2, last_error = NULL WHERE id = $3",
                now_ms,
                attempts,
                message_id,
            )
        )

    async def mark_retry(self, message_id: int, attempts: int, next_attempt_ms: int, error: str) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = $1, next_attempt_ms = $2, last_error = $3 WHERE id = $4",
                attempts,
                next_attempt_ms,
                error[:1000],
                message_id,
            )
        )

    async def mark_failed(self, message_id: int, attempts: int, now_ms: int, error: str) -> None:
        await self.store.write(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = $1, failed_ms = $2, last_error = $3 WHERE id = $4",
                attempts,
                now_ms,
                error[:1000],
                message_id,
            )
        )

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

        async def job(db):
            if max_recipients is not None:
                # The single writer connection makes the count and the insert one step, as in SQLite.
                others = await db.fetchval(
                    "SELECT COUNT(DISTINCT lower(email)) FROM transcript_requests"
                    " WHERE chat_id = $1 AND lower(email) != lower($2)",
                    chat_id,
                    email,
                )
                if others >= max_recipients:
                    return False
            await db.execute(
                "DELETE FROM transcript_requests WHERE chat_id = $1 AND email = $2 AND done_ms IS NULL", chat_id, email
            )
            await db.execute(
                "INSERT INTO transcript_requests (account_id, chat_id, email, subject, timezone_offset_ms,"
                " requested_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                account_id,
                chat_id,
                email,
                subject,
                timezone_offset_ms,
                now_ms,
            )
            return True

        return await self.store.write(job)

    async def chats_with_pending_transcripts(self) -> set[str]:
        rows = await self.store.read(
            lambda db: db.fetch("SELECT DISTINCT chat_id FROM transcript_requests WHERE done_ms IS NULL")
        )
        return {row[0] for row in rows}

    async def pending_transcripts(self, chat_id: str) -> list[TranscriptRequest]:
        rows = await self.store.read(
            lambda db: db.fetch(
                "SELECT id, account_id, chat_id, email, subject, timezone_offset_ms FROM transcript_requests"
                " WHERE chat_id = $1 AND done_ms IS NULL ORDER BY id",
                chat_id,
            )
        )
        return [TranscriptRequest(*row) for row in rows]

    async def complete_transcripts(self, composed: list[tuple[TranscriptRequest, Message | None]], now_ms: int) -> None:
        """Queue the rendered mails and close their requests in one transaction (None: nothing to send)."""

        async def job(db):
            for request, message in composed:
                if message is not None:
                    await insert_message(db, message, now_ms, chat_id=request.chat_id)
                await db.execute("UPDATE transcript_requests SET done_ms = $1 WHERE id = $2", now_ms, request.id)

        await self.store.write(job)

    async def stored_chat(self, chat_id: str) -> Chat | None:
        """A chat no longer held in memory (ended past retention while we were down), with its events."""
        return await self.store.database.snapshot(lambda db: _stored_chat(db, chat_id))


async def _stored_chat(db: asyncpg.Connection, chat_id: str) -> Chat | None:
    row = await db.fetchrow(
        "SELECT id, account_id, rt_session_id, visitor_id, start_ms, chat_timeout, state, ended_ms, visitor_name"
        " FROM chats WHERE id = $1",
        chat_id,
    )
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
    for event_id, kind, time_ms, agents_only, fields in await db.fetch(
        "SELECT id, type, time_ms, agents_only, fields FROM events WHERE chat_id = $1 ORDER BY id", chat_id
    ):
        chat.events.append(Event(event_id, kind, time_ms, orjson.loads(fields), bool(agents_only)))
    return chat


class SurveyStore:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def save_definition(self, account_id: str, definition: Definition, now_ms: int) -> None:
        """Replace the survey of this account, kind and skill."""
        survey = definition.survey

        async def job(db):
            # Answers name their survey by id: within a kind, one id is one survey.
            clash = await db.fetchrow(
                "SELECT skill_id FROM survey_definitions WHERE account_id = $1 AND kind = $2 AND survey_id = $3"
                " AND skill_id IS DISTINCT FROM $4",
                account_id,
                definition.kind,
                survey.id,
                definition.skill_id,
            )
            if clash is not None:
                where = f"skill {clash[0]}" if clash[0] is not None else "the account default"
                raise Invalid(f"survey id {survey.id} is already the {definition.kind} survey of {where}")
            await db.execute(
                "DELETE FROM survey_definitions WHERE account_id = $1 AND kind = $2"
                " AND skill_id IS NOT DISTINCT FROM $3",
                account_id,
                definition.kind,
                definition.skill_id,
            )
            await db.execute(
                "INSERT INTO survey_definitions (account_id, kind, skill_id, name, survey_id, document, imported_ms)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                account_id,
                definition.kind,
                definition.skill_id,
                definition.name,
                survey.id,
                orjson.dumps(surveys.document(survey)).decode(),
                now_ms,
            )

        await self.store.write(job)

    async def definitions(self, account_id: str, kind: str | None = None) -> list[Definition]:
        """Newest first, so a name or id given twice picks the latest import; every kind when None."""
        rows = await self.store.read(
            lambda db: db.fetch(
                "SELECT kind, skill_id, name, document, imported_ms FROM survey_definitions"
                " WHERE account_id = $1 AND ($2::text IS NULL OR kind = $2) ORDER BY imported_ms DESC, id DESC",
                account_id,
                kind,
            )
        )
        return [
            Definition(row[0], row[1], row[2], surveys.parse_document(orjson.loads(row[3])), row[4]) for row in rows
        ]

    async def delete_definition(self, account_id: str, kind: str, survey_id: int) -> bool:
        """Answers already given keep their labels (they are stored with the answers)."""
        status = await self.store.write(
            lambda db: db.execute(
                "DELETE FROM survey_definitions WHERE account_id = $1 AND kind = $2 AND survey_id = $3",
                account_id,
                kind,
                survey_id,
            )
        )
        return status != "DELETE 0"

    async def save_submission(
        self, submission: Submission, *, replace: bool = False, mail: Message | None = None
    ) -> None:
        """Store answers (``replace``: instead of the chat's earlier ones of this kind), and queue ``mail``
        in the same transaction, so an acknowledged offline message always has its mail queued (and its
        webhook deliveries)."""
        answers = answers_tree(submission.answers)
        notification = submission_notification(
            submission.account_id,
            submission.kind,
            submission.chat_id,
            submission.survey_id,
            answers,
            submission.details,
            submission.submitted_ms,
        )

        async def job(db):
            if replace and submission.chat_id is not None:
                await db.execute(
                    "DELETE FROM survey_submissions WHERE chat_id = $1 AND kind = $2",
                    submission.chat_id,
                    submission.kind,
                )
            submission_id = await db.fetchval(
                "INSERT INTO survey_submissions (account_id, kind, chat_id, survey_id, answers, details, submitted_ms)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                submission.account_id,
                submission.kind,
                submission.chat_id,
                submission.survey_id,
                orjson.dumps(answers).decode(),
                orjson.dumps(submission.details).decode(),
                submission.submitted_ms,
            )
            if mail is not None:
                await insert_message(db, mail, submission.submitted_ms, submission.chat_id, submission_id)
            await insert_deliveries(db, [notification])

        await self.store.write(job)

    async def submissions(self, account_id: str, kind: str, chat_id: str | None = None) -> list[Submission]:
        query = (
            "SELECT account_id, kind, chat_id, survey_id, answers, details, submitted_ms"
            " FROM survey_submissions WHERE account_id = $1 AND kind = $2"
        )
        params: tuple = (account_id, kind)
        if chat_id is not None:
            query += " AND chat_id = $3"
            params += (chat_id,)
        rows = await self.store.read(lambda db: db.fetch(query + " ORDER BY submitted_ms, id", *params))
        return [_submission(row) for row in rows]

    async def latest_for_visitor(self, account_id: str, kind: str, visitor_id: int) -> Submission | None:
        """The newest submission of this kind made in a chat of this visitor."""
        row = await self.store.read(
            lambda db: db.fetchrow(
                "SELECT s.account_id, s.kind, s.chat_id, s.survey_id, s.answers, s.details, s.submitted_ms"
                " FROM survey_submissions s JOIN chats c ON c.id = s.chat_id"
                " WHERE s.account_id = $1 AND s.kind = $2 AND c.visitor_id = $3"
                " ORDER BY s.submitted_ms DESC, s.id DESC LIMIT 1",
                account_id,
                kind,
                visitor_id,
            )
        )
        return None if row is None else _submission(row)


def _submission(row) -> Submission:
    answers = [
        Answer(item["id"], item["label"], tuple(item["answer"]), item["validationType"])
        for item in orjson.loads(row[4])
    ]
    return Submission(row[0], row[1], row[2], row[3], answers, orjson.loads(row[5]), row[6])


class Participants:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def insert(self, record: ParticipantRecord) -> None:
        await self.store.write(
            lambda db: db.execute(
                "INSERT INTO participants (id, account_id, conversation_id, claims, created_ms)"
                " VALUES ($1, $2, $3, $4, $5)",
                record.id,
                record.account_id,
                record.conversation_id,
                orjson.dumps(record.claims).decode(),
                int(time.time() * 1000),
            )
        )

    async def load(self, account_id: str, participant_id: str) -> ParticipantRecord | None:
        row = await self.store.read(
            lambda db: db.fetchrow(
                "SELECT id, account_id, conversation_id, claims FROM participants WHERE account_id = $1 AND id = $2",
                account_id,
                participant_id,
            )
        )
        return ParticipantRecord(row[0], row[1], row[2], orjson.loads(row[3])) if row else None


class CannedStore:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def for_account(self, account_id: str) -> list[CannedResponse]:
        rows = await self.store.read(
            lambda db: db.fetch(
                "SELECT id, account_id, title, text, created_ms FROM canned_responses WHERE account_id = $1"
                " ORDER BY id",
                account_id,
            )
        )
        return [CannedResponse(*row) for row in rows]

    async def add(self, account_id: str, title: str, text: str, now_ms: int, limit: int) -> int | None:
        async def job(db):
            # Two nodes adding at once would both count below the limit: the account's row serializes them.
            await db.execute("SELECT id FROM accounts WHERE id = $1 FOR UPDATE", account_id)
            if await db.fetchval("SELECT count(*) FROM canned_responses WHERE account_id = $1", account_id) >= limit:
                return None
            return await db.fetchval(
                "INSERT INTO canned_responses (account_id, title, text, created_ms) VALUES ($1, $2, $3, $4)"
                " RETURNING id",
                account_id,
                title,
                text,
                now_ms,
            )

        return await self.store.write(job)

    async def remove(self, account_id: str, canned_id: int) -> bool:
        status = await self.store.write(
            lambda db: db.execute(
                "DELETE FROM canned_responses WHERE account_id = $1 AND id = $2", account_id, canned_id
            )
        )
        return status != "DELETE 0"
