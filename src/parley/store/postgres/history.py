"""Stored chats of any age in the PostgreSQL store: the same records as ``store/history.py``.

Text search is PostgreSQL full-text with the 'simple' configuration (case folded, no stemming, no
stop words: the same words as SQLite's FTS5 unicode61), over the GIN index ``events_text``
(migration step 12). A query repeats the index's expression and its ``type = 'line'`` predicate
word for word, or the planner cannot use it. A search checks the newest chats one by one first
(a common word fills the page there), then reads the index's hits for the rest (``_search``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
import orjson

from parley.domain.history import ChatQuery, Position
from parley.store.protocol import ChatRecord, ChatSummary, Submission, TranscriptRecord
from parley.store.rows import CHAT_COLUMNS, chat_from_row, event_from_row, submission_answers

if TYPE_CHECKING:  # the store holds its history records: imported here only for the annotation
    from parley.store.postgres.store import PostgresStore

# The index's expression (migrations step 12), repeated exactly so the planner uses it. A JSON NUL
# escape is rewritten first (to U+2400's, the same length, so escaped backslashes stay paired):
# PostgreSQL text cannot hold NUL, and the cast would refuse the line.
LINE_TEXT = r"to_tsvector('simple', replace(fields, '\u0000', '\u2400')::json ->> 'text')"
_C_COLUMNS = ", ".join("c." + column.strip() for column in CHAT_COLUMNS.split(","))
_LINES = "(SELECT count(*) FROM events e WHERE e.chat_id = c.id AND e.type = 'line')"


def ts_query(words: tuple[str, ...]) -> str:
    """Every word (letters and digits only: nothing of to_tsquery's syntax), all required."""
    return " & ".join(words)


class _Params:
    """Numbered placeholders for a query built a clause at a time."""

    def __init__(self) -> None:
        self.values: list = []

    def __call__(self, value) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


class HistoryStore:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def summaries(
        self, account_id: str, query: ChatQuery, after: Position | None, limit: int
    ) -> list[ChatSummary]:
        async def read(db: asyncpg.Connection) -> list[ChatSummary]:
            if not query.words:
                rows = await _page(db, account_id, query, after, limit)
                return [ChatSummary(chat_from_row(row[:-1]), row[-1]) for row in rows]
            rows = await _search(db, account_id, query, after, limit)
            found = []
            for row in rows:
                summary = ChatSummary(chat_from_row(row[:-1]), row[-1])
                summary.match = await _first_match(db, summary.chat.id, query.words)
                found.append(summary)
            return found

        return await self.store.read(read)

    async def record(self, account_id: str, chat_id: str) -> ChatRecord | None:
        async def read(db: asyncpg.Connection) -> ChatRecord | None:
            rows = await db.fetch(
                f"SELECT {CHAT_COLUMNS} FROM chats WHERE account_id = $1 AND id = $2", account_id, chat_id
            )
            records = await _records(db, rows)
            return records[0] if records else None

        return await self.store.database.snapshot(read)

    async def export_page(
        self, account_id: str, from_ms: int | None, to_ms: int | None, after: Position | None, limit: int
    ) -> list[ChatRecord]:
        """Oldest first: a page of chats whole, after ``after``."""
        param = _Params()
        where = _filters(param, account_id, ChatQuery(from_ms=from_ms, to_ms=to_ms))
        if after is not None:
            where.append(f"(c.start_ms, c.id) > ({param(after.start_ms)}, {param(after.chat_id)})")
        sql = (
            f"SELECT {_C_COLUMNS} FROM chats c WHERE {' AND '.join(where)}"
            f" ORDER BY c.start_ms, c.id LIMIT {param(limit)}"
        )

        async def read(db: asyncpg.Connection) -> list[ChatRecord]:
            return await _records(db, await db.fetch(sql, *param.values))

        return await self.store.database.snapshot(read)


def _filters(param: _Params, account_id: str, query: ChatQuery, after: Position | None = None) -> list[str]:
    where = [f"c.account_id = {param(account_id)}"]
    for column, value, operator in (
        ("start_ms", query.from_ms, ">="),
        ("start_ms", query.to_ms, "<"),
        ("state", query.state, "="),
        ("skill_id", query.skill_id, "="),
        ("agent_id", query.agent_id, "="),
        ("visitor_id", query.visitor_id, "="),
    ):
        if value is not None:
            where.append(f"c.{column} {operator} {param(value)}")
    if after is not None:
        where.append(f"(c.start_ms, c.id) < ({param(after.start_ms)}, {param(after.chat_id)})")
    return where


async def _page(db: asyncpg.Connection, account_id: str, query: ChatQuery, after: Position | None, limit: int):
    """Rows (chat columns, line count) newest first; no text."""
    param = _Params()
    where = _filters(param, account_id, query, after)
    return [
        tuple(row)
        for row in await db.fetch(
            f"SELECT {_C_COLUMNS}, {_LINES} FROM chats c WHERE {' AND '.join(where)}"
            f" ORDER BY c.start_ms DESC, c.id DESC LIMIT {param(limit)}",
            *param.values,
        )
    ]


# A search first checks this many of the newest chats one by one (a common word fills the page
# there), then reads the index's hits for the older ones (a rare word has few). The planner cannot
# choose alone: its estimate for a word missing from the statistics is the same for every word.
WALK_FIRST = 1000
# Lines of the index's hits read for the older chats; a word with more goes on walking instead.
MAX_HITS = 20_000


async def _search(db: asyncpg.Connection, account_id: str, query: ChatQuery, after: Position | None, limit: int):
    words = ts_query(query.words)
    param = _Params()
    where = _filters(param, account_id, query, after)
    newest = f"SELECT * FROM chats c WHERE {' AND '.join(where)} ORDER BY c.start_ms DESC, c.id DESC LIMIT {WALK_FIRST}"
    rows = [
        tuple(row)
        for row in await db.fetch(
            f"SELECT {_C_COLUMNS}, {_LINES} FROM ({newest}) c WHERE EXISTS (SELECT 1 FROM events e"
            f" WHERE e.chat_id = c.id AND e.type = 'line' AND {LINE_TEXT} @@ to_tsquery('simple', {param(words)}))"
            f" ORDER BY c.start_ms DESC, c.id DESC LIMIT {param(limit)}",
            *param.values,
        )
    ]
    if len(rows) == limit:
        return rows
    param = _Params()
    where = _filters(param, account_id, query, after)
    boundary = await db.fetchrow(
        f"SELECT start_ms, id FROM chats c WHERE {' AND '.join(where)} ORDER BY c.start_ms DESC, c.id DESC"
        f" OFFSET {WALK_FIRST - 1} LIMIT 1",
        *param.values,
    )
    if boundary is None:  # the first step saw every chat of the filters
        return rows
    older = Position(boundary[0], boundary[1])
    hits = await db.fetch(
        f"SELECT chat_id FROM events WHERE type = 'line' AND {LINE_TEXT} @@ to_tsquery('simple', $1) LIMIT $2",
        words,
        MAX_HITS + 1,
    )
    param = _Params()
    where = _filters(param, account_id, query, older)
    if len(hits) <= MAX_HITS:
        # The chats named, looked up by id: given the ids (not a join), the planner never scans chats.
        where.append(f"c.id = ANY({param(list({row[0] for row in hits}))}::text[])")
    else:  # a word common in older chats only: walk them (rare; costs what the first step does per chat)
        where.append(
            f"EXISTS (SELECT 1 FROM events e WHERE e.chat_id = c.id AND e.type = 'line'"
            f" AND {LINE_TEXT} @@ to_tsquery('simple', {param(words)}))"
        )
    older_rows = await db.fetch(
        f"SELECT {_C_COLUMNS}, {_LINES} FROM chats c WHERE {' AND '.join(where)}"
        f" ORDER BY c.start_ms DESC, c.id DESC LIMIT {param(limit - len(rows))}",
        *param.values,
    )
    return rows + [tuple(row) for row in older_rows]


async def _first_match(db: asyncpg.Connection, chat_id: str, words: tuple[str, ...]):
    row = await db.fetchrow(
        "SELECT id, type, time_ms, agents_only, fields, request_key FROM events"
        f" WHERE chat_id = $1 AND type = 'line' AND {LINE_TEXT} @@ to_tsquery('simple', $2) ORDER BY id LIMIT 1",
        chat_id,
        ts_query(words),
    )
    return event_from_row(tuple(row)) if row else None


async def _records(db: asyncpg.Connection, rows: list) -> list[ChatRecord]:
    """The chats of these rows whole, read with one query per kind for the page (not per chat)."""
    if not rows:
        return []
    records = {row[0]: ChatRecord(chat_from_row(row), [], []) for row in rows}
    ids = list(records)
    for row in await db.fetch(
        "SELECT chat_id, id, type, time_ms, agents_only, fields, request_key FROM events"
        " WHERE chat_id = ANY($1::text[]) ORDER BY chat_id, id",
        ids,
    ):
        records[row[0]].chat.events.append(event_from_row(tuple(row[1:])))
    for row in await db.fetch(
        "SELECT account_id, kind, chat_id, survey_id, answers, details, submitted_ms FROM survey_submissions"
        " WHERE chat_id = ANY($1::text[]) ORDER BY submitted_ms, id",
        ids,
    ):
        records[row[2]].submissions.append(
            Submission(row[0], row[1], row[2], row[3], submission_answers(row[4]), orjson.loads(row[5]), row[6])
        )
    for row in await db.fetch(
        "SELECT chat_id, email, subject, requested_ms, done_ms FROM transcript_requests"
        " WHERE chat_id = ANY($1::text[]) ORDER BY id",
        ids,
    ):
        records[row[0]].transcripts.append(TranscriptRecord(*row[1:]))
    return list(records.values())
