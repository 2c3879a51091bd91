"""The element tree that handlers build and both encoders read.

A tree is plain Python data in the shape of the JSON the spec shows:

- a ``dict`` is an element with children; keys starting with ``@`` are XML attributes,
  the key ``$`` is text beside attributes; key order is document order;
- a ``list`` is a repeated element: in JSON it collapses to a single value when it has one
  item and disappears when it has none (the JAXB/Jettison mapping real clients expect);
- a ``Many`` is a repeated element that is always a JSON array, whatever its length
  (spec compatibility rule 7);
- scalars (str, int, float, bool) are element text; ``None`` means "absent".
"""

from __future__ import annotations

from typing import Any


class Many(list):
    """A repeated element that JSON always renders as an array."""


def one_or_many(value: Any) -> list:
    """Normalise a parsed "object or array" member into a list (absent → empty)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return list(value)
    return [value]
