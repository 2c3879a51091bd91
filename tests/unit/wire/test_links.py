from parley.wire.links import link


def test_href_precedes_rel():
    element = link("https://h/api/account/1/chat/x", "self")
    assert list(element) == ["@href", "@rel"]
    assert element == {"@href": "https://h/api/account/1/chat/x", "@rel": "self"}


def test_plain_too_adds_unprefixed_keys_after_the_prefixed_ones():
    element = link("https://h/x", "visitor-name", plain_too=True)
    assert list(element) == ["@href", "@rel", "href", "rel"]
    assert element["href"] == element["@href"] == "https://h/x"
    assert element["rel"] == element["@rel"] == "visitor-name"


def test_no_plain_keys_by_default():
    assert "href" not in link("h", "r")


def test_plain_spelling_is_json_only():
    import orjson

    from parley.wire import jsoncodec, xmlcodec
    from parley.wire.links import with_plain

    tree = {"info": {"link": [link("https://h/x", "self", plain_too=True), with_plain(link("https://h/y", "next"))]}}
    assert orjson.loads(jsoncodec.render(tree))["info"]["link"][1] == {
        "@href": "https://h/y",
        "@rel": "next",
        "href": "https://h/y",
        "rel": "next",
    }
    xml = xmlcodec.render(tree)
    assert b'<link href="https://h/x" rel="self"/><link href="https://h/y" rel="next"/>' in xml
    assert b"<href>" not in xml and b"<rel>" not in xml
