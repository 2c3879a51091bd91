"""Stored chats of any age, in the embedded store: history lists, text search (FTS5), one chat
whole, and the keyset pages an export streams.

The FTS5 index ``event_text`` (migration step 11) holds each line's text under the rowid
``rt_session_id << 24 | event id``: a chat's entries are one rowid range, so "does this chat have
a line with these words" is a range-limited MATCH, and a hit's chat is its rowid shifted back.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import orjson

from parley.domain.chat import Event
from parley.domain.history import ChatQuery, Position
from parley.store.protocol import ChatRecord, ChatSummary, Submission, TranscriptRecord
from parley.store.rows import CHAT_COLUMNS, chat_from_row, event_from_row, submission_answers

if TYPE_CHECKING:  # the store holds its history records: imported here only for the annotation
    from parley.store.sqlite import SqliteStore

EVENT_BITS = 24
# A search whose words match fewer lines than this (in every account) reads all its hits and sorts
# their chats; one matching more walks the account's chats newest first (``_walk``), which stops as
# soon as the page is full (a common word fills it within a few chats).
FEW_HITS = 2_000
_C_COLUMNS = ", ".join("c." + column.strip() for column in CHAT_COLUMNS.split(","))
_LINES = "(SELECT count(*) FROM events e WHERE e.chat_id = c.id AND e.type = 'line')"


def match_expression(words: tuple[str, ...]) -> str:
    """Every word, each quoted (words are letters and digits only: nothing of FTS5's syntax)."""
    return " ".join(f'"{word}"' for word in words)


class HistoryStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def summaries(
        self, account_id: str, query: ChatQuery, after: Position | None, limit: int
    ) -> list[ChatSummary]:
        return await self.store.read(lambda db: _summaries(db, account_id, query, after, limit))

    async def record(self, account_id: str, chat_id: str) -> ChatRecord | None:
        def read(db: sqlite3.Connection) -> ChatRecord | None:
            rows = db.execute(
                f"SELECT {CHAT_COLUMNS} FROM chats WHERE account_id = ? AND id = ?", (account_id, chat_id)
            ).fetchall()
            records = _records(db, rows)
            return records[0] if records else None

        return await self.store.read(read)

    async def export_page(
        self, account_id: str, from_ms: int | None, to_ms: int | None, after: Position | None, limit: int
    ) -> list[ChatRecord]:
        """Oldest first: a page of chats whole, after ``after``."""

        def read(db: sqlite3.Connection) -> list[ChatRecord]:
            where, params = _filters(account_id, ChatQuery(from_ms=from_ms, to_ms=to_ms))
            if after is not None:
                where.append("(start_ms, id) > (?, ?)")
                params += [after.start_ms, after.chat_id]
            rows = db.execute(
                f"SELECT {CHAT_COLUMNS} FROM chats WHERE {' AND '.join(where)} ORDER BY start_ms, id LIMIT ?",
                [*params, limit],
            ).fetchall()
            return _records(db, rows)

        return await self.store.read(read)


def _filters(account_id: str, query: ChatQuery, prefix: str = "") -> tuple[list[str], list]:
    where: list[str] = [f"{prefix}account_id = ?"]
    params: list = [account_id]
    for column, value, operator in (
        ("start_ms", query.from_ms, ">="),
        ("start_ms", query.to_ms, "<"),
        ("state", query.state, "="),
        ("skill_id", query.skill_id, "="),
        ("agent_id", query.agent_id, "="),
        ("visitor_id", query.visitor_id, "="),
    ):
        if value is not None:
            where.append(f"{prefix}{column} {operator} ?")
            params.append(value)
    return where, params


def _summaries(
    db: sqlite3.Connection, account_id: str, query: ChatQuery, after: Position | None, limit: int
) -> list[ChatSummary]:
    where, params = _filters(account_id, query, "c.")
    if not query.words:
        return [ChatSummary(chat, lines) for chat, lines in _page(db, "chats c", where, params, after, limit)]
    expression = match_expression(query.words)
    hits = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM event_text WHERE event_text MATCH ? LIMIT ?)", (expression, FEW_HITS)
    ).fetchone()[0]
    if hits < FEW_HITS:
        source = (
            f"(SELECT DISTINCT rowid >> {EVENT_BITS} AS rt FROM event_text WHERE event_text MATCH ?) hit"
            " JOIN chats c ON c.rt_session_id = hit.rt"
        )
        found = _page(db, source, where, [expression, *params], after, limit)
    else:
        found = _walk(db, expression, where, params, after, limit)
    first = _first_hits(db, expression, [chat for chat, _ in found])
    return [ChatSummary(chat, lines, first.get(chat.id)) for chat, lines in found]


def _page(db: sqlite3.Connection, source: str, where: list[str], params: list, after: Position | None, limit: int):
    if after is not None:
        where = [*where, "(c.start_ms, c.id) < (?, ?)"]
        params = [*params, after.start_ms, after.chat_id]
    rows = db.execute(
        f"SELECT {_C_COLUMNS}, {_LINES} FROM {source} WHERE {' AND '.join(where)}"
        " ORDER BY c.start_ms DESC, c.id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [(chat_from_row(row[:-1]), row[-1]) for row in rows]


def _walk(db: sqlite3.Connection, expression: str, where: list[str], params: list, after: Position | None, limit: int):
    """A common word: the account's chats newest first, a window at a time, asking the index once
    per run of close rt_session_ids in the window (chats get them in start order, so a window of
    an account's newest chats is mostly one run; a visitor's few chats, years apart, are a run
    each). Windows grow, so a word common elsewhere but rare among these chats costs a few reads
    of the index per thousand chats, never a read of all its hits."""
    found: list = []
    window = 4 * limit
    while len(found) < limit:
        chats = _page(db, "chats c", where, params, after, window)
        if not chats:
            break
        matched: set[int] = set()
        for first, last in _runs(sorted(chat.rt_session_id for chat, _ in chats)):
            matched.update(
                row[0]
                for row in db.execute(
                    f"SELECT rowid >> {EVENT_BITS} FROM event_text WHERE event_text MATCH ?"
                    " AND rowid >= ? AND rowid < ?",
                    (expression, first << EVENT_BITS, (last + 1) << EVENT_BITS),
                )
            )
        found += [(chat, lines) for chat, lines in chats if chat.rt_session_id in matched]
        if len(chats) < window:
            break
        last_chat = chats[-1][0]
        after = Position(last_chat.start_ms, last_chat.id)
        window = min(window * 2, 20_000)
    return found[:limit]


# Ids further apart than this start a new run: an index read spans at most this many chats of
# others (or filtered out) between two of ours.
RUN_GAP = 256


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """Sorted ids as (first, last) runs with no gap wider than RUN_GAP."""
    runs: list[tuple[int, int]] = []
    for value in ids:
        if runs and value - runs[-1][1] <= RUN_GAP:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _first_hits(db: sqlite3.Connection, expression: str, chats: list) -> dict[str, Event]:
    """Each chat's first matching line, one index read per run of the page's rt_session_ids."""
    if not chats:
        return {}
    by_rt = {chat.rt_session_id: chat for chat in chats}
    first: dict[int, int] = {}
    for low, high in _runs(sorted(by_rt)):
        for (rowid,) in db.execute(
            "SELECT rowid FROM event_text WHERE event_text MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid",
            (expression, low << EVENT_BITS, (high + 1) << EVENT_BITS),
        ):
            rt = rowid >> EVENT_BITS
            if rt in by_rt and rt not in first:
                first[rt] = rowid - (rt << EVENT_BITS)
    found = {}
    for rt, event_id in first.items():
        row = db.execute(
            "SELECT id, type, time_ms, agents_only, fields, request_key FROM events WHERE chat_id = ? AND id = ?",
            (by_rt[rt].id, event_id),
        ).fetchone()
        if row is not None:
            found[by_rt[rt].id] = event_from_row(row)
    return found


def _records(db: sqlite3.Connection, rows: list) -> list[ChatRecord]:
    """The chats of these rows whole, read with one query per kind for the page (not per chat)."""
    if not rows:
        return []
    records = {row[0]: ChatRecord(chat_from_row(row), [], []) for row in rows}
    ids = list(records)
    marks = ", ".join("?" * len(ids))
    for row in db.execute(
        "SELECT chat_id, id, type, time_ms, agents_only, fields, request_key FROM events"
        f" WHERE chat_id IN ({marks}) ORDER BY chat_id, id",
        ids,
    ):
        records[row[0]].chat.events.append(event_from_row(row[1:]))
    for row in db.execute(
        "SELECT account_id, kind, chat_id, survey_id, answers, details, submitted_ms FROM survey_submissions"
        f" WHERE chat_id IN ({marks}) ORDER BY submitted_ms, id",
        ids,
    ):
        records[row[2]].submissions.append(
            Submission(row[0], row[1], row[2], row[3], submission_answers(row[4]), orjson.loads(row[5]), row[6])
        )
    for row in db.execute(
        "SELECT chat_id, email, subject, requested_ms, done_ms FROM transcript_requests"
        f" WHERE chat_id IN ({marks}) ORDER BY id",
        ids,
    ):
        records[row[0]].transcripts.append(TranscriptRecord(*row[1:]))
    return list(records.values())
