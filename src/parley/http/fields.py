"""Lenient reading of request values: numbers and numeric strings alike (server spec §1.8).
Wrong types are refused with a clear message, never coerced silently; every number goes through
the one strict reader of :mod:`parley.domain.numbers`."""

from __future__ import annotations

from typing import Any

from parley.domain import numbers
from parley.domain.ids import MAX_SAFE_INTEGER
from parley.domain.refusals import Invalid, NotFound


def text(value: Any, name: str, *, max_length: int | None = None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"$"}:
        value = value["$"]
    if isinstance(value, (bool, dict, list)):
        raise Invalid(f"{name} must be a string")
    value = str(value)
    if max_length is not None and len(value) > max_length:
        raise Invalid(f"{name} is longer than {max_length} characters")
    return value


def integer(value: Any, name: str, *, low: int = 0, high: int = MAX_SAFE_INTEGER) -> int | None:
    """A body or query number (absent or empty is ``None``); negatives only when ``low`` < 0."""
    if value is None or value == "":
        return None
    return numbers.to_integer(value, name, minimum=low, maximum=high)


def path_id(raw: str, message: str) -> int:
    """A numeric id from the path (``events/{id}``, ``agentSession/{id}``): anything that is not
    one answers 404 like an id that does not exist, never 400 or 500."""
    try:
        return numbers.parse_integer(raw, "id")
    except Invalid:
        raise NotFound(message) from None


def text_list(value: Any, name: str) -> list[str]:
    """A string, a list of strings, or ``{"line": ...}`` / ``{"lines": ...}`` (pre-chat lines)."""
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        inner = value.get("line", value.get("lines"))
        if inner is None:
            raise Invalid(f"{name} must hold line or lines")
        return text_list(inner, name)
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(text_list(item, name))
        return out
    line = text(value, name)  # not None: value is not None here
    return [line] if line is not None else []
