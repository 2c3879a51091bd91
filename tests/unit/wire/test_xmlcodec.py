import pytest
from lxml import etree

from parley.wire.jsoncodec import BodyError
from parley.wire.tree import Many
from parley.wire.xmlcodec import parse, render

DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def body_of(tree, **options) -> bytes:
    """The rendered document without its declaration."""
    document = render(tree, **options)
    assert document.startswith(DECLARATION)
    return document[len(DECLARATION) :]


# -- rendering -------------------------------------------------------------------------------


def test_document_starts_with_the_exact_declaration():
    assert render({"estimatedWaitTime": 0}).startswith(DECLARATION)


def test_declaration_appears_once():
    assert render({"chat": {"state": "waiting"}}).count(b"<?xml") == 1


def test_scalar_root():
    assert body_of({"estimatedWaitTime": 0}) == b"<estimatedWaitTime>0</estimatedWaitTime>"


def test_at_keys_become_attributes_in_order():
    tree = {"link": {"@href": "https://h/x", "@rel": "next"}}
    assert body_of(tree) == b'<link href="https://h/x" rel="next"/>'


def test_children_in_document_order():
    tree = {"availability": {"chat": "Online", "voice": "Offline"}}
    assert body_of(tree) == b"<availability><chat>Online</chat><voice>Offline</voice></availability>"


def test_list_becomes_repeated_elements():
    tree = {"skills": {"skill": ["2", "4"]}}
    assert body_of(tree) == b"<skills><skill>2</skill><skill>4</skill></skills>"


def test_many_becomes_repeated_elements():
    tree = {"chat": {"link": Many([{"@href": "a", "@rel": "self"}, {"@href": "b", "@rel": "events"}])}}
    assert body_of(tree) == b'<chat><link href="a" rel="self"/><link href="b" rel="events"/></chat>'


def test_single_item_list_is_one_element():
    assert body_of({"events": {"event": [{"@id": "0"}]}}) == b'<events><event id="0"/></events>'


def test_empty_list_produces_no_element():
    assert body_of({"events": {"event": [], "x": "1"}}) == b"<events><x>1</x></events>"


def test_empty_string_is_an_empty_element():
    assert body_of({"q": {"lastKnownValue": ""}}) == b"<q><lastKnownValue/></q>"


def test_none_is_omitted():
    assert body_of({"info": {"agentName": None, "state": "waiting"}}) == b"<info><state>waiting</state></info>"


def test_booleans_are_lowercase_words():
    tree = {"q": {"@checked": False, "mandatory": True}}
    assert body_of(tree) == b'<q checked="false"><mandatory>true</mandatory></q>'


def test_zero_is_rendered_as_text():
    assert body_of({"info": {"duration": 0}}) == b"<info><duration>0</duration></info>"


def test_text_is_escaped_not_markup():
    # HTML chat lines are escaped text, not markup (server spec §1.8).
    tree = {"event": {"text": "<b>hi</b> & <script>"}}
    document = body_of(tree)
    assert b"<b>" not in document
    assert etree.fromstring(document).findtext("text") == "<b>hi</b> & <script>"


def test_attribute_values_are_escaped():
    document = body_of({"link": {"@href": 'https://h/?a=1&b="2"', "@rel": "next"}})
    assert etree.fromstring(document).get("href") == 'https://h/?a=1&b="2"'


def test_dollar_key_is_text_beside_attributes():
    assert body_of({"value": {"@lang": "en", "$": "hello"}}) == b'<value lang="en">hello</value>'


def test_explicit_root_wraps_the_tree():
    assert body_of({"state": "ended"}, root="event") == b"<event><state>ended</state></event>"


def test_non_ascii_text_is_utf8():
    document = render({"line": {"text": "שלום é"}})
    assert "שלום é".encode() in document


def test_no_namespace_is_emitted():
    assert b"xmlns" not in render({"chat": {"link": {"@href": "h", "@rel": "self"}}})


# -- parsing ---------------------------------------------------------------------------------


def test_parse_attributes_become_at_keys():
    assert parse(b'<event type="line"><text>hi</text></event>') == {"event": {"@type": "line", "text": "hi"}}


def test_parse_repeated_elements_become_a_list():
    parsed = parse(b"<lines><line>a</line><line>b</line><line>c</line></lines>")
    assert parsed == {"lines": {"line": ["a", "b", "c"]}}


def test_parse_single_element_is_not_a_list():
    assert parse(b"<lines><line>a</line></lines>") == {"lines": {"line": "a"}}


def test_parse_empty_element_is_empty_string():
    assert parse(b"<visitorName><name/></visitorName>") == {"visitorName": {"name": ""}}


def test_parse_text_root():
    assert parse(b"<visitorName>Joe</visitorName>") == {"visitorName": "Joe"}


def test_parse_unescapes_text():
    assert parse(b"<event><text>a &lt;b&gt; &amp; c</text></event>") == {"event": {"text": "a <b> & c"}}


def test_parse_ignores_whitespace_between_elements():
    parsed = parse(b"<request>\n  <skill>Sales</skill>\n  <v>1</v>\n</request>")
    assert parsed == {"request": {"skill": "Sales", "v": "1"}}


def test_parse_ignores_comments():
    assert parse(b"<event><!-- note --><text>hi</text></event>") == {"event": {"text": "hi"}}


def test_parse_accepts_a_declaration():
    assert parse(DECLARATION + b"<chat><state>ended</state></chat>") == {"chat": {"state": "ended"}}


# -- hardening (DESIGN §2.6) ------------------------------------------------------------------


def test_parse_refuses_an_external_file_entity(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<event><text>&xxe;</text></event>"
    ).encode()
    with pytest.raises(BodyError):
        parse(body)


def test_parse_refuses_billion_laughs():
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    body = f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>'.encode()
    with pytest.raises(BodyError):
        parse(body)


def test_parse_refuses_a_doctype_without_entities():
    with pytest.raises(BodyError):
        parse(b'<!DOCTYPE event SYSTEM "http://example.com/event.dtd"><event><text>hi</text></event>')


@pytest.mark.parametrize(
    "body",
    [b"", b"<event>", b"<event><text>hi</event>", b"not xml", b"<a></b>", b"<a>&undefined;</a>", b"<a/><b/>"],
)
def test_parse_refuses_malformed_xml(body):
    with pytest.raises(BodyError):
        parse(body)


# -- round trip ------------------------------------------------------------------------------


def test_round_trip_render_then_parse():
    tree = {
        "events": {
            "link": {"@href": "https://h/events?from=2", "@rel": "next"},
            "event": [
                {"@id": "0", "@type": "state", "time": "2017-02-27T06:24:15.424-05:00", "state": "waiting"},
                {"@id": "1", "@type": "line", "text": "<p>a & b</p>", "by": "info", "source": "system"},
            ],
        }
    }
    assert parse(render(tree)) == tree


def test_round_trip_turns_scalars_into_text():
    # XML has no types: numbers and booleans come back as their text.
    assert parse(render({"info": {"duration": 0, "mandatory": True}})) == {
        "info": {"duration": "0", "mandatory": "true"}
    }


@pytest.mark.parametrize("text", ["tab\there", "a\x0bb", "nul\x00byte", "bell\x07", "esc\x1b[31m"])
def test_any_string_renders_to_a_well_formed_document(text):
    # JSON clients can post "\u000b" or "\u0000" in a line (valid JSON); an XML reader of that chat
    # must still get a document, not a server error (compatibility rule 14).
    document = render({"event": {"text": text, "by": text}})
    parsed = etree.fromstring(document)
    kept = parsed.findtext("text")
    assert all(ch in kept for ch in text if ch.isalnum())


def test_control_characters_in_attributes_render_too():
    document = render({"event": {"@type": "line\x01", "text": "x"}})
    assert etree.fromstring(document).get("type").startswith("line")
