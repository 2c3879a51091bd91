"""Both body parsers, fed anything: a tree or ``BodyError`` (the API's 400), never another
exception; valid trees round-trip; and the bounds on what one body may hold are exact."""

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parley.wire import jsoncodec, xmlcodec
from parley.wire.jsoncodec import BodyError
from tests.unit.wire.trees import NAMES, trees

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_refuses(parse, body: bytes) -> None:
    try:
        tree = parse(body)
    except BodyError:
        return
    assert isinstance(tree, dict)


# -- anything in, a tree or a refusal out ------------------------------------------------------

# Pieces of markup, so that the fuzzer reaches past the first syntax error often.
XML_PIECES = st.sampled_from(
    [
        "<event>",
        "</event>",
        "<a ",
        "b='1'",
        ' c="2"',
        "/>",
        ">",
        "<",
        "&amp;",
        "&x;",
        "<!DOCTYPE e>",
        "<![CDATA[x]]>",
        "<!-- c -->",
        "<?pi x?>",
        '<?xml version="1.0" encoding="UTF-16"?>',
        "text",
        "²",
        "\x00",
        "<a:b xmlns:a='urn:x'>",
        "</a:b>",
        "<!ENTITY e 'x'>",
        "]>",
        "<!DOCTYPE e [",
    ]
)


@FUZZ
@given(st.binary(max_size=300))
def test_xml_parser_takes_any_bytes(body):
    parses_or_refuses(xmlcodec.parse, body)


@FUZZ
@given(st.lists(st.one_of(XML_PIECES, st.text(max_size=5)), max_size=30).map("".join))
def test_xml_parser_takes_any_markup(text):
    parses_or_refuses(xmlcodec.parse, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.binary(max_size=300))
def test_json_parser_takes_any_bytes(body):
    parses_or_refuses(jsoncodec.parse, body)


@FUZZ
@given(st.text(max_size=200))
def test_json_parser_takes_any_text(text):
    parses_or_refuses(jsoncodec.parse, text.encode("utf-8", "surrogatepass"))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=30,
)


@FUZZ
@given(JSON_VALUES)
def test_json_parser_takes_any_json_document(value):
    try:
        body = orjson.dumps(value)
    except orjson.JSONEncodeError:  # integers past 64 bits: not a document a client can send
        return
    parses_or_refuses(jsoncodec.parse, body)


# -- valid trees round-trip -------------------------------------------------------------------

# Repeated elements at least twice: the trees both formats carry unchanged.
TREES = trees(min_repeat=2, max_leaves=20)


@FUZZ
@given(root=NAMES, content=TREES)
def test_json_round_trip(root, content):
    tree = {root: content}
    assert jsoncodec.parse(jsoncodec.render(tree, always_arrays=False)) == tree


@FUZZ
@given(root=NAMES, content=TREES)
def test_xml_round_trip(root, content):
    tree = {root: content}
    assert xmlcodec.parse(xmlcodec.render(tree)) == tree


# -- the bounds ---------------------------------------------------------------------------------


def attributes(count: int) -> bytes:
    return b"<event " + b" ".join(b'a%d="1"' % i for i in range(count)) + b"/>"


def test_xml_attributes_per_element():
    assert len(xmlcodec.parse(attributes(xmlcodec.MAX_ATTRIBUTES))["event"]) == xmlcodec.MAX_ATTRIBUTES
    with pytest.raises(BodyError, match="attributes"):
        xmlcodec.parse(attributes(xmlcodec.MAX_ATTRIBUTES + 1))


def test_xml_ninety_thousand_attributes_are_refused():
    # The finding: ~1 MB of one element's attributes; reading them was quadratic (84 s).
    with pytest.raises(BodyError, match="attributes"):
        xmlcodec.parse(attributes(90_000))


def test_xml_elements_per_document():
    def document(count):
        return b"<r>" + b"<e/>" * (count - 1) + b"</r>"

    assert len(xmlcodec.parse(document(xmlcodec.MAX_ELEMENTS))["r"]["e"]) == xmlcodec.MAX_ELEMENTS - 1
    with pytest.raises(BodyError, match="elements"):
        xmlcodec.parse(document(xmlcodec.MAX_ELEMENTS + 1))


def test_xml_depth():
    def nested(depth):
        return b"<e>" * depth + b"x" + b"</e>" * depth

    assert xmlcodec.parse(nested(xmlcodec.MAX_DEPTH))
    with pytest.raises(BodyError, match="nested"):
        xmlcodec.parse(nested(xmlcodec.MAX_DEPTH + 1))


def test_json_keys_per_object():
    def document(count):
        return orjson.dumps({"request": {f"k{i}": i for i in range(count)}})

    assert len(jsoncodec.parse(document(jsoncodec.MAX_KEYS))["request"]) == jsoncodec.MAX_KEYS
    with pytest.raises(BodyError, match="keys"):
        jsoncodec.parse(document(jsoncodec.MAX_KEYS + 1))


def test_json_with_more_commas_than_a_bounded_document_is_refused_before_parsing():
    # 90,000 keys: 89,999 commas; a document within the bounds has fewer than 10,000.
    with pytest.raises(BodyError, match="commas"):
        jsoncodec.parse(orjson.dumps({"request": {f"k{i}": i for i in range(90_000)}}))
    with pytest.raises(BodyError, match="commas"):
        jsoncodec.parse(orjson.dumps({"request": list(range(300_000))}))
    # Commas inside strings count too, past 10,000 of them (no field of the API holds that much text).
    assert jsoncodec.parse(orjson.dumps({"text": "," * jsoncodec.MAX_COMMAS}))
    with pytest.raises(BodyError, match="commas"):
        jsoncodec.parse(orjson.dumps({"text": "," * (jsoncodec.MAX_COMMAS + 1)}))


def test_json_items_per_array():
    def document(count):
        return orjson.dumps({"request": list(range(count))})

    assert len(jsoncodec.parse(document(jsoncodec.MAX_ITEMS))["request"]) == jsoncodec.MAX_ITEMS
    with pytest.raises(BodyError, match="items"):
        jsoncodec.parse(document(jsoncodec.MAX_ITEMS + 1))


def test_json_depth():
    def nested(depth):  # depth levels of values, the top-level object being the first
        value: object = 1
        for _ in range(depth - 2):
            value = [value]
        return orjson.dumps({"a": value})

    assert jsoncodec.parse(nested(jsoncodec.MAX_DEPTH))
    with pytest.raises(BodyError, match="nested"):
        jsoncodec.parse(nested(jsoncodec.MAX_DEPTH + 1))


def test_json_values_in_total():
    # The top object, 99 arrays of 100 numbers: 1 + 99 + 9,900 = 10,000 values; one more is too many.
    def document(extra):
        tree = {f"k{i}": list(range(100)) for i in range(99)}
        tree.update({f"x{i}": i for i in range(extra)})
        return orjson.dumps(tree)

    assert len(jsoncodec.parse(document(0))) == 99
    with pytest.raises(BodyError, match="values"):
        jsoncodec.parse(document(1))
