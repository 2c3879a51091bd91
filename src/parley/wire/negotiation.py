"""Content negotiation: which format a request wants (server spec §1.4)."""

from __future__ import annotations

JSON = "json"
XML = "xml"

_SUFFIXES = {".json": JSON, ".xml": XML}


def split_suffix(path: str) -> tuple[str, str | None]:
    """Strip a ``.json``/``.xml`` suffix from the last segment: it decides the format."""
    for suffix, fmt in _SUFFIXES.items():
        if path.endswith(suffix) and len(path) > len(suffix) and not path.endswith("/" + suffix):
            return path[: -len(suffix)], fmt
    return path, None


def from_media_type(value: str | None) -> str | None:
    """The format a media-type header names, if any (``*/*`` names none)."""
    if not value:
        return None
    lowered = value.lower()
    if "application/json" in lowered or "+json" in lowered:
        return JSON
    if "application/xml" in lowered or "text/xml" in lowered or "+xml" in lowered:
        return XML
    return None


def choose(suffix: str | None, accept: str | None, content_type: str | None, default: str = XML) -> str:
    """Suffix, then Accept, then the body's Content-Type, then the default."""
    return suffix or from_media_type(accept) or from_media_type(content_type) or default


def body_format(content_type: str | None, chosen: str) -> str:
    """A body is parsed by its Content-Type; none or text/plain falls back to the chosen format."""
    return from_media_type(content_type) or chosen
