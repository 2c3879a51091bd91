"""Lenient reading of request values: numbers and numeric strings alike (server spec §1.8).
Wrong types are refused with a clear message, never coerced silently."""

from __future__ import annotations

from typing import Any

from parley.domain.ids import MAX_SAFE_INTEGER
from parley.domain.refusals import Invalid


def text(value: Any, name: str, *, max_length: int | None = None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"$"}:
        value = value["$"]
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise Invalid(f"{name} must be a string")
    value = str(value)
    if max_length is not None and len(value) > max_length:
        raise Invalid(f"{name} is longer than {max_length} characters")
    return value


def integer(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"{name} must be an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped.lstrip("-").isdigit() or len(stripped) > 20:
            raise Invalid(f"{name} must be an integer")
        value = int(stripped)
    if not isinstance(value, int):
        raise Invalid(f"{name} must be an integer")
    if low is not None and value < low or high is not None and value > high:
        raise Invalid(f"{name} must be between {low} and {high}")
    if abs(value) > MAX_SAFE_INTEGER:
        raise Invalid(f"{name} is too large")
    return value


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
        out = []
        for item in value:
            out.extend(text_list(item, name))
        return out
    return [text(value, name)]
