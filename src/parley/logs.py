"""Log lines: one format for parley's own lines and the embedded HTTP server's (granian).

JSON lines where a program reads them (stderr is not a terminal: systemd, docker, a file), one
object per line with ``time``, ``level``, ``logger``, ``message`` and the line's own fields; on a
terminal the same lines readable by a person. ``--log-format`` overrides the guess.

What a line may carry is decided where it is written: the access log names the route pattern,
never the path (a visitor's chat id is the chat's only secret), and no handler logs chat text,
app keys or bearers.
"""

from __future__ import annotations

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
# Fields a record has anyway: a line's own fields are what ``extra=`` added beyond them.
# Fields a text line leaves out because its message already says them (the access line's).
SAID = frozenset({"method", "route", "status", "duration_ms"})
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record, in the order they were given."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


def _stamp(created: float) -> str:
    """UTC with milliseconds (``2026-12-03T14:30:00.123Z``): sortable, one zone for every node."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback is one string field, so a line is always one record."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _stamp(record.created), "level": record.levelname.lower(),
                                "logger": record.name, "message": record.getMessage()}
        line.update(fields_of(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``, then a traceback on the lines below."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_stamp(record.created), f"{record.levelname:<7}", record.name, record.getMessage()]
        parts += [f"{key}={value}" for key, value in fields_of(record).items() if key not in SAID]
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


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
    """Configure logging for this process; returns the configuration (for granian)."""
    config = dict_config(log_format, level, stream)
    logging.config.dictConfig(config)
    return config
