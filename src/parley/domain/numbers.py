"""The one reader of numbers a client sends: paths, queries, headers and bodies alike.

``str.isdigit()`` accepts ``²``, ``①``, Arabic-Indic and fullwidth digits that ``int()`` then
refuses or reads, and ``int()`` takes time and memory in the length of what it is given. Every
number from outside goes through here instead: ASCII digits only, at most 16 of them, and a
value a double holds exactly (clients parse JSON numbers as doubles).
"""

from __future__ import annotations

import re
from typing import Any

from parley.domain.ids import MAX_SAFE_INTEGER
from parley.domain.refusals import Invalid

# 2**53 - 1 has 16 digits: anything longer is out of range, whatever its value.
MAX_DIGITS = 16

# [0-9], not \d: \d matches every Unicode decimal digit.
_INTEGER = re.compile(r"-?[0-9]{1,16}")
_UNSIGNED = re.compile(r"[0-9]{1,16}")
_DECIMAL = re.compile(r"[0-9]{1,16}(?:\.[0-9]{1,16})?")
# Only ASCII blanks are trimmed (XML text often has a newline around the number).
_BLANKS = " \t\r\n"


def _bounded(value: int, name: str, minimum: int, maximum: int) -> int:
    if not minimum <= value <= maximum:
        raise Invalid(f"{name} must be an integer from {minimum} to {maximum}")
    return value


def parse_integer(text: str, name: str = "value", *, minimum: int = 0, maximum: int = MAX_SAFE_INTEGER) -> int:
    """An integer written in ASCII digits, with a leading ``-`` only when ``minimum`` is negative
    (and never ``-0``).

    Anything else, or a value outside ``minimum``..``maximum`` (clamped to ±(2**53 - 1)), is
    refused with :class:`Invalid`. Work is bounded: nothing longer than 17 characters (after
    trimming ASCII blanks) reaches ``int()``.
    """
    if not isinstance(text, str):
        raise Invalid(f"{name} must be an integer")
    minimum = max(minimum, -MAX_SAFE_INTEGER)
    maximum = min(maximum, MAX_SAFE_INTEGER)
    stripped = text.strip(_BLANKS)
    pattern = _INTEGER if minimum < 0 else _UNSIGNED
    if not pattern.fullmatch(stripped):
        raise Invalid(f"{name} must be an integer")
    value = int(stripped)
    if value == 0 and stripped[0] == "-":
        raise Invalid(f"{name} must be an integer")  # "-0": no client writes it; refused like the other odd forms
    return _bounded(value, name, minimum, maximum)


def parse_decimal(text: str, name: str = "value", *, maximum: float = MAX_SAFE_INTEGER) -> float:
    """A non-negative number in ASCII digits with an optional fraction (``0.5``); no signs,
    exponents, ``inf``/``nan`` or underscores, which ``float()`` would all accept."""
    if not isinstance(text, str):
        raise Invalid(f"{name} must be a number")
    stripped = text.strip(_BLANKS)
    if not _DECIMAL.fullmatch(stripped):
        raise Invalid(f"{name} must be a number from 0 to {maximum:g}")
    value = float(stripped)
    if value > maximum:
        raise Invalid(f"{name} must be a number from 0 to {maximum:g}")
    return value


def to_integer(value: Any, name: str = "value", *, minimum: int = 0, maximum: int = MAX_SAFE_INTEGER) -> int:
    """A body value that should be an integer: a JSON number without fraction or a string of
    digits (server spec §1.8 lets clients send either). Booleans and other types are refused."""
    if isinstance(value, bool):
        raise Invalid(f"{name} must be an integer")
    if isinstance(value, float):
        if not value.is_integer():  # also inf and nan
            raise Invalid(f"{name} must be an integer")
        if abs(value) > MAX_SAFE_INTEGER:
            raise Invalid(
                f"{name} must be an integer from {max(minimum, -MAX_SAFE_INTEGER)} to {min(maximum, MAX_SAFE_INTEGER)}"
            )
        value = int(value)
    if isinstance(value, int):
        return _bounded(value, name, max(minimum, -MAX_SAFE_INTEGER), min(maximum, MAX_SAFE_INTEGER))
    return parse_integer(value, name, minimum=minimum, maximum=maximum)


def is_integer(text: str) -> bool:
    """Whether ``text`` is a non-negative integer :func:`parse_integer` would read."""
    try:
        parse_integer(text)
    except Invalid:
        return False
    return True
