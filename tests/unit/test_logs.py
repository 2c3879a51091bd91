"""The log format: JSON lines for programs, text for people, one configuration for granian too."""

from __future__ import annotations

import asyncio
import io
import logging
import sys

import orjson
import pytest

from parley import logs


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logs.access.direct(None)  # access lines back through the logging module


def record(message: str = "hello %s", args: tuple = ("world",), exc=None, **fields) -> logging.LogRecord:
    made = logging.LogRecord("parley.test", logging.WARNING, __file__, 1, message, args, exc)
    made.__dict__.update(fields)
    return made


def test_a_json_line_is_one_object_with_the_fields_given():
    line = logs.JsonFormatter().format(record(request_id="r-1", status=200))
    parsed = orjson.loads(line)
    assert parsed["message"] == "hello world" and parsed["level"] == "warning" and parsed["logger"] == "parley.test"
    assert parsed["request_id"] == "r-1" and parsed["status"] == 200
    assert parsed["time"].endswith("Z") and "T" in parsed["time"]


def test_a_traceback_stays_inside_its_json_line():
    try:
        raise ValueError("boom")
    except ValueError:
        line = logs.JsonFormatter().format(record(exc=sys.exc_info()))
    assert "\n" not in line
    assert "ValueError: boom" in orjson.loads(line)["exc"]


def test_a_text_line_reads_left_to_right_without_what_its_message_says():
    line = logs.TextFormatter().format(record("GET /x 200", (), request_id="r-1", route="/x", status=200))
    assert line.endswith("WARNING parley.test GET /x 200 request_id=r-1")


def test_auto_is_text_on_a_terminal_and_json_elsewhere():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.chosen_format("auto", Terminal()) == "text"
    assert logs.chosen_format("auto", io.StringIO()) == "json"
    assert logs.chosen_format("text", io.StringIO()) == "text"


def test_configure_routes_parley_and_granian_lines_through_one_handler(restore_logging):
    stream = io.StringIO()
    logs.configure("json", "info", stream)
    logging.getLogger("parley.x").info("from parley")
    logging.getLogger(logs.GRANIAN).info("from granian")
    logging.getLogger("parley.x").debug("too fine")
    logging.getLogger("granian.access").info("granian's own access line")
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("parley.x", "from parley"),
        (logs.GRANIAN, "from granian"),
    ]


def test_the_level_setting_filters(restore_logging):
    stream = io.StringIO()
    logs.configure("text", "warning", stream)
    logging.getLogger("parley.x").info("quiet")
    logging.getLogger("parley.x").warning("loud")
    assert "quiet" not in stream.getvalue() and "loud" in stream.getvalue()


async def test_access_lines_share_the_format_and_go_out_in_batches(restore_logging):
    stream = io.StringIO()
    logs.configure("json", "info", stream)
    logs.access.write("GET /r 200 0.1 ms", {"request_id": "r-1", "route": "/r", "status": 200})
    logs.access.write("GET /r 404 0.1 ms", {"request_id": "r-2", "route": "/r", "status": 404})
    assert stream.getvalue() == ""  # not yet: a write per request costs more than the request
    logs.access.flush()
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["level"], line["request_id"], line["status"]) for line in lines] == [
        ("parley.access", "info", "r-1", 200),
        ("parley.access", "info", "r-2", 404),
    ]
    assert lines[0]["message"] == "GET /r 200 0.1 ms" and lines[0]["time"].endswith("Z")


async def test_pending_access_lines_are_written_within_the_flush_delay(restore_logging):
    stream = io.StringIO()
    logs.configure("text", "info", stream)
    logs.access.write("GET /r 200 0.1 ms", {"request_id": "r-1", "route": "/r", "status": 200})
    for _ in range(500):  # the flush comes by itself (a timer on the loop), no later request needed
        if stream.getvalue():
            break
        await asyncio.sleep(0.01)
    assert stream.getvalue().endswith("INFO    parley.access GET /r 200 0.1 ms request_id=r-1\n")


def test_without_an_event_loop_an_access_line_is_written_at_once(restore_logging):
    stream = io.StringIO()
    logs.configure("json", "info", stream)
    logs.access.write("GET /r 200 0.1 ms", {"request_id": "r-1"})
    assert orjson.loads(stream.getvalue())["request_id"] == "r-1"
