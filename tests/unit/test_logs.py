"""The log format: JSON lines for programs, text for people, one configuration for granian too."""

from __future__ import annotations

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
    assert [(line["logger"], line["message"]) for line in lines] == [("parley.x", "from parley"),
                                                                     (logs.GRANIAN, "from granian")]


def test_the_level_setting_filters(restore_logging):
    stream = io.StringIO()
    logs.configure("text", "warning", stream)
    logging.getLogger("parley.x").info("quiet")
    logging.getLogger("parley.x").warning("loud")
    assert "quiet" not in stream.getvalue() and "loud" in stream.getvalue()
