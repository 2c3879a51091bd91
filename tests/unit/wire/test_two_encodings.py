"""DESIGN §2.5: one tree, two encodings. Parsing the XML rendering gives the JSON rendering
(with every scalar as text), because JSON is the mechanical mapping of the XML document."""

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.wire import jsoncodec, xmlcodec

TEXT = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=12)
NAMES = st.sampled_from(["event", "link", "state", "text", "question", "entry"])
ATTRIBUTES = st.sampled_from(["@id", "@type", "@href", "@rel"])


def elements(children):
    attributes = st.dictionaries(ATTRIBUTES, TEXT, max_size=2)
    members = st.dictionaries(NAMES, st.one_of(children, st.lists(children, min_size=1, max_size=3)), max_size=3)
    return st.builds(lambda a, m: {**a, **m}, attributes, members).filter(bool)


TREES = st.recursive(TEXT, elements, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(root=NAMES, content=TREES)
def test_xml_parses_back_to_the_json_rendering(root, content):
    tree = {root: content}
    assert xmlcodec.parse(xmlcodec.render(tree)) == orjson.loads(jsoncodec.render(tree))
