"""JSON rendering and parsing of element trees."""

from __future__ import annotations

from typing import Any

import orjson

from parley.wire.tree import Many, Raw


class BodyError(ValueError):
    """A request body that is not a valid document of the chosen format."""


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


def render(tree: dict, *, always_arrays: bool = False) -> bytes:
    """Encode a tree; ``always_arrays`` renders every repeated element as an array."""
    return orjson.dumps(_collapse(tree, always_arrays))


def parse(body: bytes) -> dict:
    """Decode a request body; the top level must be an object."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError("request body does not contain a valid JSON statement!") from exc
    if not isinstance(value, dict):
        raise BodyError("request body does not contain a valid JSON statement!")
    return value
