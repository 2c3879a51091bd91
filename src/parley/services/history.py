"""Chat history for administrators: lists with filters and text search, one chat whole, and the
account's chats exported as JSON Lines or CSV. The admin API and ``parley export`` call these, so
both give the same trees and the same bytes.

An export is a stream of keyset pages (``EXPORT_PAGE`` chats whole per store read, oldest
first): memory holds one page, whatever the number of chats.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from parley.domain.chat import Chat, Event
from parley.domain.history import ChatQuery, Position, csv_cell, decode_cursor, encode_cursor
from parley.domain.ids import CHAT_ID_PATTERN
from parley.domain.refusals import NotFound
from parley.store.protocol import ChatRecord, ChatSummary, Directory, Store
from parley.wire.times import format_time

EXPORT_PAGE = 200
CHUNK = 256 * 1024
FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("chatId", "eventId", "time", "source", "by", "agentsOnly", "textType", "text")
# A search answer quotes the matching line, cut to this many characters.
MATCH_LENGTH = 300


# Every zone changes its offset on a quarter hour (UTC): one offset holds for a whole quarter.
_QUARTER_MS = 900_000


@dataclass
class _Names:
    """What a tree names besides the chat: skills, agents, and the account's zone for times."""

    directory: Directory
    zone: ZoneInfo
    _suffixes: dict[int, tuple[int, str]] = field(default_factory=dict)

    def time(self, epoch_ms: int | None) -> str | None:
        """``format_time``'s text, faster: an export writes millions of times, and the zone's
        offset (the costly part) is looked up once per quarter hour, not per time."""
        if epoch_ms is None:
            return None
        quarter = epoch_ms // _QUARTER_MS
        known = self._suffixes.get(quarter)
        if known is None:
            text = format_time(quarter * _QUARTER_MS, self.zone)
            sign = -1 if text[-6] == "-" else 1
            offset_ms = sign * (int(text[-5:-3]) * 60 + int(text[-2:])) * 60_000
            known = self._suffixes[quarter] = (offset_ms, text[-6:])
        offset_ms, suffix = known
        local = epoch_ms + offset_ms
        return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(local // 1000))}.{local % 1000:03d}{suffix}"


@dataclass
class History:
    store: Store

    async def _names(self, account_id: str) -> _Names:
        directory = await self.store.load_directory()
        account = directory.accounts.get(account_id)
        if account is None:
            raise NotFound(f"no account {account_id}")
        try:
            zone = ZoneInfo(account.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return _Names(directory, zone)

    async def chats(self, account_id: str, query: ChatQuery, cursor: str | None, limit: int) -> dict:
        """A page, newest first: ``{"chats": [...], "next": cursor or None}``."""
        names = await self._names(account_id)
        after = decode_cursor(cursor) if cursor else None
        found = await self.store.history.summaries(account_id, query, after, limit + 1)
        page = found[:limit]
        following = None
        if len(found) > limit:
            last = page[-1].chat
            following = encode_cursor(Position(last.start_ms, last.id))
        return {"chats": [summary_tree(names, s, bool(query.words)) for s in page], "next": following}

    async def chat(self, account_id: str, chat_id: str) -> dict:
        names = await self._names(account_id)
        # A chat id of another shape names no chat (and never reaches the database).
        record = await self.store.history.record(account_id, chat_id) if CHAT_ID_PATTERN.match(chat_id) else None
        if record is None:
            raise NotFound(f"no chat {chat_id} in account {account_id}")
        return chat_tree(names, record)

    async def records(self, account_id: str, from_ms: int | None, to_ms: int | None) -> AsyncIterator[list[ChatRecord]]:
        """Every chat of the account (started within the range), oldest first, a page at a time;
        the next page is read while the caller writes this one."""

        def read(after: Position | None) -> asyncio.Future:
            return asyncio.ensure_future(self.store.history.export_page(account_id, from_ms, to_ms, after, EXPORT_PAGE))

        pending: asyncio.Future | None = read(None)
        try:
            while pending is not None:
                page = await pending
                pending = None
                if len(page) == EXPORT_PAGE:
                    last = page[-1].chat
                    pending = read(Position(last.start_ms, last.id))
                if page:
                    yield page
        finally:
            if pending is not None:  # the reader went away (a client hung up): no read left behind
                pending.cancel()

    async def export(self, account_id: str, kind: str, from_ms: int | None, to_ms: int | None) -> AsyncIterator[bytes]:
        """The export's bytes, a page per chunk. The account is checked before the first byte
        (an unknown one raises here, not halfway through a stream)."""
        names = await self._names(account_id)
        return self._chunks(names, account_id, kind, from_ms, to_ms)

    async def _chunks(
        self, names: _Names, account_id: str, kind: str, from_ms: int | None, to_ms: int | None
    ) -> AsyncIterator[bytes]:
        buffer = bytearray(_csv_rows([CSV_COLUMNS]) if kind == "csv" else b"")
        async for page in self.records(account_id, from_ms, to_ms):
            for record in page:
                if kind == "csv":
                    buffer += _csv_rows(csv_lines(names, record.chat))
                else:
                    buffer += orjson.dumps(chat_tree(names, record)) + b"\n"
                # Chunks of a bounded size whatever a chat holds: the node link (a follower relays
                # this answer from the leader) refuses frames past 16 MiB.
                while len(buffer) >= CHUNK:
                    yield bytes(buffer[:CHUNK])
                    del buffer[:CHUNK]
        if buffer:
            yield bytes(buffer)


def _csv_rows(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def csv_lines(names: _Names, chat: Chat) -> list[list]:
    """One row per line of the chat; every text cell spreadsheet-safe (``csv_cell``)."""
    return [
        [
            chat.id,
            event.id,
            names.time(event.time_ms),
            csv_cell(event.fields.get("source")),
            csv_cell(event.fields.get("by")),
            "true" if event.agents_only else "false",
            csv_cell(event.fields.get("textType")),
            csv_cell(event.fields.get("text")),
        ]
        for event in chat.events
        if event.type == "line"
    ]


def _chat_head(names: _Names, chat: Chat, lines: int) -> dict:
    skill = names.directory.skills.get(chat.skill_id) if chat.skill_id is not None else None
    agent = names.directory.agents.get(chat.agent_id) if chat.agent_id is not None else None
    return {
        "id": chat.id,
        "rtSessionId": chat.rt_session_id,
        "state": chat.state,
        "startTime": names.time(chat.start_ms),
        "chattingTime": names.time(chat.chatting_ms),
        "endTime": names.time(chat.ended_ms),
        "skill": None if chat.skill_id is None else {"id": chat.skill_id, "name": skill.name if skill else None},
        "agent": None
        if chat.agent_id is None
        else {"id": chat.agent_id, "nickname": agent.nickname if agent else None},
        "visitor": {"id": chat.visitor_id, "name": chat.visitor_name},
        "lines": lines,
    }


def summary_tree(names: _Names, summary: ChatSummary, searched: bool) -> dict:
    tree = _chat_head(names, summary.chat, summary.lines)
    if searched:
        match = summary.match
        tree["match"] = (
            None
            if match is None
            else {
                "eventId": match.id,
                "time": names.time(match.time_ms),
                "text": (match.fields.get("text") or "")[:MATCH_LENGTH],
            }
        )
    return tree


def event_tree(names: _Names, event: Event) -> dict:
    return {
        "id": event.id,
        "type": event.type,
        "time": names.time(event.time_ms),
        "agentsOnly": event.agents_only,
        "fields": event.fields,
    }


def chat_tree(names: _Names, record: ChatRecord) -> dict:
    chat = record.chat
    tree = _chat_head(names, chat, sum(1 for e in chat.events if e.type == "line"))
    tree["events"] = [event_tree(names, e) for e in chat.events]
    tree["surveys"] = [
        {
            "kind": s.kind,
            "surveyId": s.survey_id,
            "submittedTime": names.time(s.submitted_ms),
            "answers": [
                {"id": a.question_id, "label": a.label, "answer": list(a.values), "validationType": a.validation_type}
                for a in s.answers
            ],
        }
        for s in record.submissions
    ]
    tree["transcriptRequests"] = [
        {
            "email": t.email,
            "subject": t.subject,
            "requestedTime": names.time(t.requested_ms),
            "doneTime": names.time(t.done_ms),
        }
        for t in record.transcripts
    ]
    return tree
