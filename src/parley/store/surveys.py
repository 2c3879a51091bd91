"""Survey definitions (one per account, kind and skill) and submitted answers, in the embedded store."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import orjson

from parley.domain import survey as surveys
from parley.domain.mail import Message
from parley.domain.refusals import Invalid
from parley.domain.survey import Answer, Definition
from parley.domain.webhooks import submission_notification
from parley.store.outbox import insert_message
from parley.store.protocol import Submission
from parley.store.webhooks import insert_deliveries

if TYPE_CHECKING:  # the store holds its survey records: imported here only for the annotation
    from parley.store.sqlite import SqliteStore


class SurveyStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def save_definition(self, account_id: str, definition: Definition, now_ms: int) -> None:
        """Replace the survey of this account, kind and skill."""
        survey = definition.survey

        def job(db):
            # Answers name their survey by id: within a kind, one id is one survey.
            clash = db.execute(
                "SELECT skill_id FROM survey_definitions WHERE account_id = ? AND kind = ? AND survey_id = ?"
                " AND skill_id IS NOT ?",
                (account_id, definition.kind, survey.id, definition.skill_id),
            ).fetchone()
            if clash is not None:
                where = f"skill {clash[0]}" if clash[0] is not None else "the account default"
                raise Invalid(f"survey id {survey.id} is already the {definition.kind} survey of {where}")
            db.execute(
                "DELETE FROM survey_definitions WHERE account_id = ? AND kind = ? AND skill_id IS ?",
                (account_id, definition.kind, definition.skill_id),
            )
            db.execute(
                "INSERT INTO survey_definitions (account_id, kind, skill_id, name, survey_id, document, imported_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    account_id,
                    definition.kind,
                    definition.skill_id,
                    definition.name,
                    survey.id,
                    orjson.dumps(surveys.document(survey)).decode(),
                    now_ms,
                ),
            )

        await self.store.write(job)

    async def definitions(self, account_id: str, kind: str | None = None) -> list[Definition]:
        """Newest first, so a name or id given twice picks the latest import; every kind when None."""

        def read(db):
            rows = db.execute(
                "SELECT kind, skill_id, name, document, imported_ms FROM survey_definitions"
                " WHERE account_id = ? AND (? IS NULL OR kind = ?) ORDER BY imported_ms DESC, id DESC",
                (account_id, kind, kind),
            )
            return [
                Definition(row[0], row[1], row[2], surveys.parse_document(orjson.loads(row[3])), row[4]) for row in rows
            ]

        return await self.store.read(read)

    async def delete_definition(self, account_id: str, kind: str, survey_id: int) -> bool:
        """Answers already given keep their labels (they are stored with the answers)."""
        return await self.store.write(
            lambda db: (
                db.execute(
                    "DELETE FROM survey_definitions WHERE account_id = ? AND kind = ? AND survey_id = ?",
                    (account_id, kind, survey_id),
                ).rowcount
                > 0
            )
        )

    async def save_submission(
        self, submission: Submission, *, replace: bool = False, mail: Message | None = None
    ) -> None:
        """Store answers (``replace``: instead of the chat's earlier ones of this kind), and queue ``mail``
        in the same transaction, so an acknowledged offline message always has its mail queued (and its
        webhook deliveries)."""
        notification = submission_notification(
            submission.account_id,
            submission.kind,
            submission.chat_id,
            submission.survey_id,
            answers_tree(submission.answers),
            submission.details,
            submission.submitted_ms,
        )

        def job(db):
            if replace and submission.chat_id is not None:
                db.execute(
                    "DELETE FROM survey_submissions WHERE chat_id = ? AND kind = ?",
                    (submission.chat_id, submission.kind),
                )
            submission_id = _insert_submission(db, submission)
            if mail is not None:
                insert_message(db, mail, submission.submitted_ms, submission.chat_id, submission_id)
            insert_deliveries(db, [notification])

        await self.store.write(job)

    async def submissions(self, account_id: str, kind: str, chat_id: str | None = None) -> list[Submission]:
        def read(db: sqlite3.Connection) -> list[Submission]:
            query = (
                "SELECT account_id, kind, chat_id, survey_id, answers, details, submitted_ms"
                " FROM survey_submissions WHERE account_id = ? AND kind = ?"
            )
            params: tuple = (account_id, kind)
            if chat_id is not None:
                query += " AND chat_id = ?"
                params += (chat_id,)
            rows = db.execute(query + " ORDER BY submitted_ms, id", params)
            return [
                Submission(row[0], row[1], row[2], row[3], _answers(row[4]), orjson.loads(row[5]), row[6])
                for row in rows
            ]

        return await self.store.read(read)

    async def latest_for_visitor(self, account_id: str, kind: str, visitor_id: int) -> Submission | None:
        """The newest submission of this kind made in a chat of this visitor."""

        def read(db):
            return db.execute(
                "SELECT s.account_id, s.kind, s.chat_id, s.survey_id, s.answers, s.details, s.submitted_ms"
                " FROM survey_submissions s JOIN chats c ON c.id = s.chat_id"
                " WHERE s.account_id = ? AND s.kind = ? AND c.visitor_id = ?"
                " ORDER BY s.submitted_ms DESC, s.id DESC LIMIT 1",
                (account_id, kind, visitor_id),
            ).fetchone()

        row = await self.store.read(read)
        if row is None:
            return None
        return Submission(row[0], row[1], row[2], row[3], _answers(row[4]), orjson.loads(row[5]), row[6])


def answers_tree(answers: list[Answer]) -> list[dict]:
    """Answers as stored (and as a webhook's body carries them)."""
    return [
        {"id": a.question_id, "label": a.label, "answer": list(a.values), "validationType": a.validation_type}
        for a in answers
    ]


def _insert_submission(db: sqlite3.Connection, submission: Submission) -> int:
    answers = answers_tree(submission.answers)
    row_id = db.execute(
        "INSERT INTO survey_submissions (account_id, kind, chat_id, survey_id, answers, details, submitted_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            submission.account_id,
            submission.kind,
            submission.chat_id,
            submission.survey_id,
            orjson.dumps(answers).decode(),
            orjson.dumps(submission.details).decode(),
            submission.submitted_ms,
        ),
    ).lastrowid
    assert row_id is not None  # an INSERT always sets it
    return row_id


def _answers(raw: str) -> list[Answer]:
    return [
        Answer(item["id"], item["label"], tuple(item["answer"]), item["validationType"]) for item in orjson.loads(raw)
    ]
