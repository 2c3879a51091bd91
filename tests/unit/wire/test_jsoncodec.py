import orjson
import pytest

from parley.wire.jsoncodec import BodyError, parse, render
from parley.wire.tree import Many


def rendered(tree, **options):
    return orjson.loads(render(tree, **options))


# -- collapse rule (server spec §1.8) ---------------------------------------------------------


def test_single_repeated_element_collapses_to_an_object():
    tree = {"events": {"event": [{"@id": "0", "@type": "state"}]}}
    assert rendered(tree) == {"events": {"event": {"@id": "0", "@type": "state"}}}


def test_two_repeated_elements_stay_an_array():
    tree = {"events": {"event": [{"@id": "0"}, {"@id": "1"}]}}
    assert rendered(tree) == {"events": {"event": [{"@id": "0"}, {"@id": "1"}]}}


def test_empty_repeated_element_omits_the_key():
    tree = {"events": {"event": [], "link": {"@href": "h", "@rel": "next"}}}
    assert rendered(tree) == {"events": {"link": {"@href": "h", "@rel": "next"}}}


def test_single_scalar_in_a_list_collapses_to_the_scalar():
    assert rendered({"skills": {"skill": ["2"]}}) == {"skills": {"skill": "2"}}


def test_many_is_an_array_even_with_one_item():
    tree = {"chat": {"link": Many([{"@href": "h", "@rel": "self"}])}}
    assert rendered(tree) == {"chat": {"link": [{"@href": "h", "@rel": "self"}]}}


def test_many_is_an_array_even_when_empty():
    assert rendered({"login": {"baseURIs": Many([])}}) == {"login": {"baseURIs": []}}


def test_none_member_is_omitted():
    assert rendered({"info": {"state": "waiting", "agentName": None}}) == {"info": {"state": "waiting"}}


def test_none_items_in_a_list_are_dropped_before_collapsing():
    assert rendered({"a": {"b": [None, {"c": "1"}]}}) == {"a": {"b": {"c": "1"}}}


def test_collapse_applies_to_nested_lists():
    tree = {"survey": {"questions": {"question": [{"entry": [{"value": "x"}]}]}}}
    assert rendered(tree) == {"survey": {"questions": {"question": {"entry": {"value": "x"}}}}}


def test_empty_string_stays_an_empty_string():
    assert rendered({"q": {"lastKnownValue": ""}}) == {"q": {"lastKnownValue": ""}}


def test_scalar_types_are_preserved():
    tree = {"info": {"duration": 0, "rtSessionId": 2**53 - 1, "mandatory": True, "ringingCount": "1"}}
    assert rendered(tree) == tree


def test_member_order_is_kept():
    tree = {"link": {"@href": "h", "@rel": "r"}, "state": "waiting", "@id": "1"}
    assert list(rendered({"x": tree})["x"]) == ["link", "state", "@id"]


# -- always-arrays switch ----------------------------------------------------------------------


def test_always_arrays_keeps_a_single_item_as_an_array():
    tree = {"events": {"event": [{"@id": "0"}]}}
    assert rendered(tree, always_arrays=True) == {"events": {"event": [{"@id": "0"}]}}


def test_always_arrays_still_omits_an_empty_list():
    assert rendered({"events": {"event": []}}, always_arrays=True) == {"events": {}}


def test_always_arrays_does_not_change_a_single_object_member():
    # Only repeated elements (lists) become arrays; a plain object stays an object.
    tree = {"incomingRequests": {"link": {"@href": "h", "@rel": "accept-next-chat"}}}
    assert rendered(tree, always_arrays=True) == tree


# -- parsing ---------------------------------------------------------------------------------


def test_parse_returns_the_object():
    assert parse(b'{"event": {"@type": "line", "text": "hi"}}') == {"event": {"@type": "line", "text": "hi"}}


@pytest.mark.parametrize("body", [b"", b"{", b"{'a': 1}", b"not json", b'{"a": }', b"\xff\xfe"])
def test_parse_refuses_malformed_json(body):
    with pytest.raises(BodyError):
        parse(body)


@pytest.mark.parametrize("body", [b"[]", b'[{"a": 1}]', b'"text"', b"1", b"null", b"true"])
def test_parse_refuses_a_non_object_top_level(body):
    with pytest.raises(BodyError):
        parse(body)


def test_body_error_carries_the_spec_message():
    with pytest.raises(BodyError, match="request body does not contain a valid JSON statement!"):
        parse(b"{")


def test_body_error_is_a_value_error():
    assert issubclass(BodyError, ValueError)
