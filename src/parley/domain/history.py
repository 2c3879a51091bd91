"""Chat history: what a search of stored chats may ask (filters, words, a page's position) and how
its values are read and written (times, the opaque cursor, spreadsheet-safe CSV cells).

Pure rules, no store: the admin API, the CLI and both stores share them.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from parley.domain.chat import CHATTING, ENDED, WAITING
from parley.domain.ids import CHAT_ID_PATTERN, MAX_SAFE_INTEGER
from parley.domain.refusals import Invalid

STATES = (WAITING, CHATTING, ENDED)
DEFAULT_PAGE = 50
MAX_PAGE = 200
# A search is a few words, not a document: bounds the FTS/tsquery work one request can ask for.
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_WORDS = 8
# Both indexes cut text into runs of letters and digits (SQLite FTS5 unicode61, PostgreSQL's
# 'simple' parser) and fold case; the query is cut the same way, so a search names whole words.
_WORD = re.compile(r"[^\W_]+")
# Epoch milliseconds: plain digits (13 for any date since 2001); anything else is ISO-8601.
_EPOCH_MS = re.compile(r"^\d{1,15}$")


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last chat's start time and id (the keyset of the order)."""

    start_ms: int
    chat_id: str


@dataclass(frozen=True)
class ChatQuery:
    """Filters of a history list; None is "any". Times bound the chat's start: from inclusive, to exclusive."""

    from_ms: int | None = None
    to_ms: int | None = None
    state: str | None = None
    skill_id: int | None = None
    agent_id: int | None = None
    visitor_id: int | None = None
    words: tuple[str, ...] = ()


def parse_time(value: str, name: str) -> int:
    """Epoch milliseconds, or ISO-8601 (a date, or a date and time; no offset means UTC)."""
    value = value.strip()
    if _EPOCH_MS.match(value):
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} is not a time: give ISO-8601 (2026-12-01T09:30:00Z) or epoch milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def search_words(text: str) -> tuple[str, ...]:
    """The words a line must all contain (case-folded); refuses a search with none or too many."""
    if len(text) > MAX_SEARCH_LENGTH:
        raise Invalid(f"text is longer than {MAX_SEARCH_LENGTH} characters")
    words = tuple(dict.fromkeys(word.lower() for word in _WORD.findall(text)))
    if not words:
        raise Invalid("text has no word to search for (letters or digits)")
    if len(words) > MAX_SEARCH_WORDS:
        raise Invalid(f"text has more than {MAX_SEARCH_WORDS} words")
    return words


def encode_cursor(position: Position) -> str:
    """Opaque to clients (they pass it back unchanged); base64url of the keyset values."""
    raw = orjson.dumps([position.start_ms, position.chat_id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> Position:
    try:
        if len(cursor) > 400:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        start_ms, chat_id = orjson.loads(raw)
        # Only what a page can end on: a start time a database integer holds, a chat id's shape.
        if type(start_ms) is not int or abs(start_ms) > MAX_SAFE_INTEGER:
            raise ValueError
        if not isinstance(chat_id, str) or not CHAT_ID_PATTERN.match(chat_id):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise Invalid("cursor is not one this API gave (pass the last answer's next unchanged)") from None
    return Position(start_ms, chat_id)


# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): these first characters,
# and tab and carriage return, which some spreadsheets skip before looking for one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str | None) -> str:
    """A text cell safe to open in a spreadsheet: one that could start a formula is prefixed with
    an apostrophe (shown as text, and easy to strip for a program reading it back)."""
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value
