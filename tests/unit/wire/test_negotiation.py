import pytest

from parley.wire.negotiation import JSON, XML, body_format, choose, from_media_type, split_suffix

# -- path suffix -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "stripped", "fmt"),
    [
        ("/api/account/1234/chat/request.json", "/api/account/1234/chat/request", JSON),
        ("/api/account/1234/chat/request.xml", "/api/account/1234/chat/request", XML),
        ("/api/account/1234.json", "/api/account/1234", JSON),
        ("/api/account/1/chat/H1-abcK1234567/events.json", "/api/account/1/chat/H1-abcK1234567/events", JSON),
    ],
)
def test_suffix_is_stripped_and_names_the_format(path, stripped, fmt):
    assert split_suffix(path) == (stripped, fmt)


def test_no_suffix_leaves_the_path():
    assert split_suffix("/api/account/1234/chat/request") == ("/api/account/1234/chat/request", None)


def test_a_bare_suffix_segment_is_not_a_suffix():
    assert split_suffix("/api/.json") == ("/api/.json", None)


def test_suffix_only_counts_at_the_end():
    assert split_suffix("/a.json/b") == ("/a.json/b", None)


# -- media types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("application/json", JSON),
        ("application/json; charset=UTF-8", JSON),
        ("Application/JSON", JSON),
        ("application/xml", XML),
        ("text/xml", XML),
        ("text/xml; charset=utf-8", XML),
        ("*/*", None),
        ("text/plain", None),
        ("text/html", None),
        ("", None),
        (None, None),
    ],
)
def test_media_type_names_a_format(value, fmt):
    assert from_media_type(value) == fmt


def test_a_browser_accept_header_with_a_wildcard_still_names_xml():
    assert from_media_type("text/html,application/xml;q=0.9,*/*;q=0.8") == XML


# -- choice order: suffix > Accept > Content-Type > XML --------------------------------------


def test_suffix_beats_accept_and_content_type():
    assert choose(JSON, "application/xml", "application/xml") == JSON
    assert choose(XML, "application/json", "application/json") == XML


def test_accept_beats_content_type():
    assert choose(None, "application/json", "application/xml") == JSON
    assert choose(None, "application/xml", "application/json") == XML


def test_content_type_decides_without_suffix_or_accept():
    assert choose(None, None, "application/json") == JSON


def test_wildcard_accept_expresses_no_preference():
    # Compatibility rule 15: */* falls through to the body type.
    assert choose(None, "*/*", "application/json") == JSON


def test_default_is_xml():
    assert choose(None, None, None) == XML
    assert choose(None, "*/*", None) == XML
    assert choose(None, "*/*", "text/plain") == XML


# -- request body format ---------------------------------------------------------------------


def test_body_is_parsed_by_its_content_type():
    assert body_format("application/xml", JSON) == XML
    assert body_format("application/json", XML) == JSON


def test_missing_body_type_falls_back_to_the_chosen_format():
    assert body_format(None, JSON) == JSON
    assert body_format("", XML) == XML


def test_text_plain_body_falls_back_to_the_chosen_format():
    assert body_format("text/plain", JSON) == JSON
    assert body_format("text/plain;charset=UTF-8", XML) == XML
