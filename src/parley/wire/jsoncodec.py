"""JSON rendering and parsing of element trees; parsing is bounded (anyone may send a body)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson

from parley.wire.tree import Many, Raw


class BodyError(ValueError):
    """A request body that is not a valid document of the chosen format."""


# Bounds on what one body may make the server build and walk; real clients send a few dozen
# values. orjson is linear and stops at depth 1024 by itself; the rest is checked right after.
# orjson holds the GIL while it parses (~50 ms for 90,000 keys), so a body with more commas
# than a document within the bounds can have (one fewer than its values) is refused before
# orjson runs, by a count at memchr speed. Commas inside strings count too: a body whose
# texts hold over 10,000 commas is refused though it might be within the bounds; the texts
# clients send (lines and answers of at most 10,000 characters, variables, JWTs) hold far fewer.
MAX_COMMAS = 10_000
MAX_DEPTH = 64
MAX_KEYS = 1000
MAX_ITEMS = 1000
MAX_VALUES = 10_000


def _check_bounds(value: Any) -> None:
    """Refuse a document past the bounds; stops as soon as one is passed, so it costs at most
    about ``MAX_VALUES`` steps whatever the document holds."""
    pending = [(value, 1)]
    seen = 1
    while pending:
        item, depth = pending.pop()
        children: Collection[Any]
        if isinstance(item, dict):
            children = item.values()
            if len(item) > MAX_KEYS:
                raise BodyError(f"request body has an object with more than {MAX_KEYS} keys")
        elif isinstance(item, list):
            children = item
            if len(item) > MAX_ITEMS:
                raise BodyError(f"request body has an array with more than {MAX_ITEMS} items")
        else:
            continue
        if not children:
            continue
        if depth >= MAX_DEPTH:
            raise BodyError(f"request body is nested deeper than {MAX_DEPTH} levels")
        seen += len(children)
        if seen > MAX_VALUES:
            raise BodyError(f"request body holds more than {MAX_VALUES} values")
        pending.extend((child, depth + 1) for child in children)


def _collapse(value: Any, always_arrays: bool) -> Any:
    if isinstance(value, Raw):
        return value.value
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            if child is None:
                continue
            if isinstance(child, list) and not isinstance(child, Many):
                items = [_collapse(item, always_arrays) for item in child if item is not None]
                if always_arrays:
                    if items:
                        out[key] = items
                elif len(items) == 1:
                    out[key] = items[0]
                elif items:
                    out[key] = items
                continue
            out[key] = _collapse(child, always_arrays)
        return out
    if isinstance(value, list):
        return [_collapse(item, always_arrays) for item in value if item is not None]
    return value


def render(tree: dict[str, Any], *, always_arrays: bool = False) -> bytes:
    """Encode a tree; ``always_arrays`` renders every repeated element as an array."""
    return orjson.dumps(_collapse(tree, always_arrays))


def parse(body: bytes) -> dict[str, Any]:
    """Decode a request body; the top level must be an object, within the bounds above."""
    if body.count(b",") > MAX_COMMAS:
        raise BodyError(f"request body has more than {MAX_COMMAS} commas")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError("request body does not contain a valid JSON statement!") from exc
    if not isinstance(value, dict):
        raise BodyError("request body does not contain a valid JSON statement!")
    _check_bounds(value)
    return value
