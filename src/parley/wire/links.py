"""Link elements. ``@href`` always precedes ``@rel`` (compatibility rule 6)."""

from __future__ import annotations


def link(href: str, rel: str, *, plain_too: bool = False) -> dict:
    """One link; ``plain_too`` adds the unprefixed spelling some resources also need."""
    element = {"@href": href, "@rel": rel}
    if plain_too:
        element["href"] = href
        element["rel"] = rel
    return element
