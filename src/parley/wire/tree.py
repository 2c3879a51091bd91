"""The element tree that handlers build and both encoders read.

A tree is plain Python data in the shape of the JSON the spec shows:

- a ``dict`` is an element with children; keys starting with ``@`` are XML attributes,
  the key ``$`` is text beside attributes; key order is document order;
- a ``list`` is a repeated element: in JSON it collapses to a single value when it has one
  item and disappears when it has none (the JAXB/Jettison mapping real clients expect);
- a ``Many`` is a repeated element that is always a JSON array, whatever its length
  (spec compatibility rule 7);
- a ``Raw`` is opaque JSON passed through unchanged (structured content): JSON embeds it
  as it is, XML carries it as a JSON string;
- a ``JsonOnly`` is a text that only JSON renders (the unprefixed link spellings: in XML an
  element's ``href`` and ``rel`` are attributes only);
- scalars (str, int, float, bool) are element text; ``None`` means "absent".
"""

from __future__ import annotations

from typing import Any


class Many(list[Any]):
    """A repeated element that JSON always renders as an array."""


class JsonOnly(str):
    """A text member JSON carries and XML leaves out. A ``str`` subclass, so the JSON encoder
    (orjson serialises subclasses of str as strings) pays nothing for it."""

    __slots__ = ()


class Raw:
    """A JSON value relayed as it was received, never collapsed or reshaped."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def one_or_many(value: Any) -> list[Any]:
    """Normalise a parsed "object or array" member into a list (absent → empty)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return list(value)
    return [value]
