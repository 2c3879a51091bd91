"""Log lines: one format for parley's own lines and the embedded HTTP server's (granian).

JSON lines where a program reads them (stderr is not a terminal: systemd, docker, a file), one
object per line with ``time``, ``level``, ``logger``, ``message`` and the line's own fields; on a
terminal the same lines readable by a person. ``--log-format`` overrides the guess.

What a line may carry is decided where it is written: the access log names the route pattern,
never the path (a visitor's chat id is the chat's only secret), and no handler logs chat text,
app keys or bearers.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import logging.config
import sys
import time
from typing import Any, TextIO

import orjson

JSON = "json"
TEXT = "text"
AUTO = "auto"
FORMATS = (AUTO, JSON, TEXT)
LEVELS = ("debug", "info", "warning", "error")
# granian's Rust core logs through this logger (granian.log names it so).
GRANIAN = "_granian"
ACCESS = "parley.access"
# Fields a text line leaves out because its message already says them (the access line's).
SAID = frozenset({"method", "route", "status", "duration_ms"})
# Fields a record has anyway: a line's own fields are what ``extra=`` added beyond them.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# Access lines go out in batches, at most this late: a write per request cost an idle poll about
# half its CPU again (measured, bench/polls.py), the GIL it releases going to granian's threads.
FLUSH_SECONDS = 0.2
FLUSH_LINES = 512


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record, in the order they were given."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


_second: list = [-1, ""]  # the last second stamped and its text: most lines share one


def stamp(created: float) -> str:
    """UTC with milliseconds (``2026-12-03T14:30:00.123Z``): sortable, one zone for every node."""
    whole = int(created)
    if whole != _second[0]:
        _second[:] = [whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))]
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


def json_line(created: float, level: str, logger: str, message: str, fields: dict[str, Any]) -> str:
    line = {"time": stamp(created), "level": level, "logger": logger, "message": message}
    line.update(fields)
    return orjson.dumps(line, default=str).decode()


def text_line(created: float, level: str, logger: str, message: str, fields: dict[str, Any]) -> str:
    parts = [stamp(created), f"{level.upper():<7}", logger, message]
    parts += [f"{key}={value}" for key, value in fields.items() if key not in SAID]
    return " ".join(parts)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback is one string field, so a line is always one record."""

    def format(self, record: logging.LogRecord) -> str:
        fields = fields_of(record)
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            fields["exc"] = record.exc_text
        return json_line(record.created, record.levelname.lower(), record.name, record.getMessage(), fields)


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``, then a traceback on the lines below."""

    def format(self, record: logging.LogRecord) -> str:
        text = text_line(record.created, record.levelname, record.name, record.getMessage(), fields_of(record))
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class AccessLines:
    """The access log: a line per request, in the format of every other line and to the same
    stream, built without a LogRecord and written in batches (``FLUSH_SECONDS``). Until
    ``configure`` names a stream (an app embedded elsewhere, tests) lines go through the
    ``parley.access`` logger like any other."""

    def __init__(self) -> None:
        self.stream: TextIO | None = None
        self.build = json_line
        self.pending: list[str] = []
        self._flush_due = False
        self.logger = logging.getLogger(ACCESS)

    def direct(self, stream: TextIO | None, log_format: str = JSON) -> None:
        self.flush()
        self.stream = stream
        self.build = json_line if log_format == JSON else text_line

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, message: str, fields: dict[str, Any]) -> None:
        if self.stream is None:
            self.logger.info(message, extra=fields)
            return
        self.pending.append(self.build(time.time(), "info", ACCESS, message, fields))
        if len(self.pending) >= FLUSH_LINES:
            self.flush()
        elif not self._flush_due:
            try:
                asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
                self._flush_due = True
            except RuntimeError:  # no event loop: nothing would flush later
                self.flush()

    def flush(self) -> None:
        self._flush_due = False
        if self.pending and self.stream is not None:
            lines, self.pending = self.pending, []
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or full: a log line is not worth a failed request
                pass


access = AccessLines()
atexit.register(access.flush)


def chosen_format(log_format: str, stream: TextIO) -> str:
    if log_format != AUTO:
        return log_format
    try:
        return TEXT if stream.isatty() else JSON
    except (AttributeError, ValueError):  # a closed or odd stream: a program reads it
        return JSON


def dict_config(log_format: str = AUTO, level: str = "info", stream: TextIO | None = None) -> dict[str, Any]:
    """The logging configuration: handed to ``logging.config`` here, and to granian as its own
    (it applies its configuration when the server starts; the same one keeps one format)."""
    stream = stream or sys.stderr
    formatter = JsonFormatter if chosen_format(log_format, stream) == JSON else TextFormatter
    numeric = logging.getLevelName(level.upper())
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"parley": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "parley", "stream": stream}},
        "root": {"handlers": ["stderr"], "level": numeric},
        "loggers": {
            GRANIAN: {"handlers": [], "propagate": True, "level": numeric},
            # granian's own access log stays off (parley writes its own, with route and account).
            "granian.access": {"handlers": [], "propagate": False, "level": logging.CRITICAL + 1},
            # The bot's HTTP client logs one line per poll: only its problems.
            "httpx": {"level": max(numeric, logging.WARNING)},
            "httpcore": {"level": max(numeric, logging.WARNING)},
        },
    }


def configure(log_format: str = AUTO, level: str = "info", stream: TextIO | None = None) -> dict[str, Any]:
    """Configure logging for this process, access lines included; returns the configuration."""
    stream = stream or sys.stderr
    config = dict_config(log_format, level, stream)
    logging.config.dictConfig(config)
    access.direct(stream, chosen_format(log_format, stream))
    return config
