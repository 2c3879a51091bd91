"""Sanitizing agent HTML lines by allow-list (compatibility rule 10)."""

from __future__ import annotations

import nh3

_TAGS = {
    "p",
    "div",
    "span",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "a",
    "br",
    "ul",
    "ol",
    "li",
    "font",
    "blockquote",
    "pre",
    "code",
    "small",
    "sub",
    "sup",
    "h1",
    "h2",
    "h3",
    "h4",
}
_ATTRIBUTES = {
    "*": {"dir", "style", "title", "align"},
    "a": {"href"},
    "font": {"color", "size", "face"},
}
# Inline styles keep only properties that cannot load anything (no url(), no expression()).
_STYLE_PROPERTIES = {
    "direction",
    "text-align",
    "color",
    "background-color",
    "font-weight",
    "font-style",
    "font-size",
    "font-family",
    "text-decoration",
    "line-height",
    "margin",
    "padding",
    "white-space",
}
# Scripts, styles and frames go with their content; other unknown tags keep their text.
_DROP_WITH_CONTENT = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "noscript", "template"}


def _attribute(tag: str, name: str, value: str) -> str | None:
    """Drop style declarations whose value calls a function (``expression()``, ``url()``)."""
    if name != "style":
        return value
    kept = [part for part in value.split(";") if part.strip() and "(" not in part and "\\" not in part]
    return ";".join(kept) or None


def sanitize(html: str) -> str:
    """Keep text and common formatting; remove scripts, handlers, frames, ``javascript:`` URLs."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=_STYLE_PROPERTIES,
        attribute_filter=_attribute,
    )
