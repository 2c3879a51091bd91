"""Link elements. ``@href`` always precedes ``@rel`` (compatibility rule 6)."""

from __future__ import annotations

from parley.wire.tree import JsonOnly


def link(href: str, rel: str, *, plain_too: bool = False) -> dict[str, str]:
    """One link; ``plain_too`` adds the unprefixed spelling some resources also need in JSON."""
    element = {"@href": href, "@rel": rel}
    return with_plain(element) if plain_too else element


def with_plain(element: dict[str, str]) -> dict[str, str]:
    """A copy of a link that JSON also spells ``href``/``rel``; XML keeps only the attributes
    (a child element named like an attribute of its parent would be a second, different link)."""
    return dict(element, href=JsonOnly(element["@href"]), rel=JsonOnly(element["@rel"]))
