"""History's pure rules: the opaque cursor, times, search words, spreadsheet-safe CSV cells."""

from __future__ import annotations

import base64
import csv
import io

import orjson
import pytest

from parley.domain.history import Position, csv_cell, decode_cursor, encode_cursor, parse_time, search_words
from parley.domain.ids import new_chat_id
from parley.domain.refusals import Invalid


def test_a_cursor_gives_back_the_position_it_was_made_from():
    for start_ms in (0, 1, 1_767_225_600_123, 2**53 - 1):
        position = Position(start_ms, new_chat_id())
        cursor = encode_cursor(position)
        assert decode_cursor(cursor) == position
        assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # safe in a query string


def _raw(value) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "not base64 at all",
        _raw([1, 2]),
        _raw(["1", new_chat_id()]),
        _raw([1.5, new_chat_id()]),
        _raw([True, new_chat_id()]),
        _raw([2**63, new_chat_id()]),  # no database integer holds it
        _raw([1, "H1\u0000x"]),  # not a chat id's shape (and a NUL PostgreSQL refuses)
        _raw([1, new_chat_id(), 3]),
        _raw({"a": 1}),
        _raw(1),
        "A" * 401,
    ],
)
def test_a_cursor_this_api_did_not_give_is_refused(cursor):
    with pytest.raises(Invalid):
        decode_cursor(cursor)


def test_times_are_epoch_milliseconds_or_iso_8601():
    assert parse_time("1767225600000", "from") == 1_767_225_600_000
    assert parse_time("2026-01-01", "from") == 1_767_225_600_000  # a date: its midnight, UTC
    assert parse_time("2026-01-01T00:00:00Z", "from") == 1_767_225_600_000
    assert parse_time("2026-01-01T01:00:00+01:00", "from") == 1_767_225_600_000
    assert parse_time("2026-01-01T00:00:00.250", "from") == 1_767_225_600_250  # no offset: UTC
    for garbage in ("yesterday", "2026-13-01", "1.5", "-5", "0x10", "", "1" * 16):
        with pytest.raises(Invalid):
            parse_time(garbage, "from")


def test_search_words_are_case_folded_letters_and_digits():
    assert search_words("Hello, WORLD! hello") == ("hello", "world")
    assert search_words("order #A-1234_b") == ("order", "a", "1234", "b")
    assert search_words("café Ñandú") == ("café", "ñandú")
    for garbage in ("", "!!! ???", "a" * 201, " ".join(f"w{n}" for n in range(9))):
        with pytest.raises(Invalid):
            search_words(garbage)


@pytest.mark.parametrize(
    "text, cell",
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("hello = world", "hello = world"),
        ("'quoted'", "'quoted'"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_made_text(text, cell):
    assert csv_cell(text) == cell


def test_escaped_cells_survive_csv_quoting():
    rows = [[csv_cell('=HYPERLINK("http://x","y")'), csv_cell('a,"b"\nc')]]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    assert list(csv.reader(io.StringIO(out.getvalue()))) == rows
