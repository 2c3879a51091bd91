"""XML rendering and hardened parsing of element trees (no namespace, attributes ↔ ``@`` keys)."""

from __future__ import annotations

import re
from typing import Any

import orjson
from lxml import etree

from parley.wire.jsoncodec import BodyError
from parley.wire.tree import JsonOnly, Raw

# DTDs, entities and network access stay off: the body comes from anyone (XXE, entity bombs).
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


# Bounds on one document. libxml2 parses in linear time, but reading an element's attributes
# through lxml costs time in the square of their count (90,000 of them took 84 s): the counts
# are checked with cheap calls first (``len(attrib)`` is linear), before anything reads them.
MAX_ATTRIBUTES = 64
MAX_ELEMENTS = 10_000
MAX_DEPTH = 64


_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


# Characters XML 1.0 cannot carry at all; a JSON client may still send them in a line.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: etree._Element, value: Any) -> None:
    if isinstance(value, Raw):
        element.text = orjson.dumps(value.value).decode()
    elif isinstance(value, dict):
        for key, child in value.items():
            if child is None or child.__class__ is JsonOnly:
                continue
            if key.startswith("@"):
                element.set(key[1:], _text(child))
            elif key == "$":
                element.text = _text(child)
            elif isinstance(child, list):
                for item in child:
                    if item is not None:
                        _fill(etree.SubElement(element, key), item)
            else:
                _fill(etree.SubElement(element, key), child)
    elif value != "":
        element.text = _text(value)


def render(tree: dict[str, Any], *, root: str | None = None) -> bytes:
    """Encode a tree whose single top-level key is the root element (or wrap it in ``root``)."""
    if root is None:
        ((root, content),) = tree.items()
    else:
        content = tree
    element = etree.Element(root)
    _fill(element, content)
    return _DECLARATION + etree.tostring(element, xml_declaration=False, encoding="UTF-8")


def _to_value(element: etree._Element) -> Any:
    children = [(child.tag, child) for child in element if isinstance(child.tag, str)]
    if not children and not element.attrib:
        return element.text or ""
    value: dict[str, Any] = {f"@{name}": text for name, text in element.attrib.items()}
    for tag, child in children:
        item = _to_value(child)
        if tag in value:
            existing = value[tag]
            if isinstance(existing, list):
                existing.append(item)
            else:
                value[tag] = [existing, item]
        else:
            value[tag] = item
    if not children and element.text and element.text.strip():
        value["$"] = element.text
    return value


def _check_bounds(root: etree._Element) -> None:
    """Refuse a document past the bounds; stops at the first element past one of them."""
    elements = depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise BodyError(f"request body is nested deeper than {MAX_DEPTH} elements")
        if elements > MAX_ELEMENTS:
            raise BodyError(f"request body has more than {MAX_ELEMENTS} elements")
        if len(element.attrib) > MAX_ATTRIBUTES:
            raise BodyError(f"request body has an element with more than {MAX_ATTRIBUTES} attributes")


def parse(body: bytes) -> dict[str, Any]:
    """Decode a request body to the JSON-shaped dict ``{root: content}``; DTDs are refused,
    and so are documents past the bounds above."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BodyError("request body does not contain a valid XML statement!") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise BodyError("XML with a DTD or entity declarations is not accepted")
    if not isinstance(root.tag, str) or "}" in root.tag:
        raise BodyError("request body does not contain a valid XML statement!")
    _check_bounds(root)
    return {root.tag: _to_value(root)}
