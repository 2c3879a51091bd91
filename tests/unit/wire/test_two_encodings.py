"""DESIGN §2.5: one tree, two encodings. Parsing the XML rendering gives the JSON rendering
(with every scalar as text), because JSON is the mechanical mapping of the XML document."""

import orjson
from hypothesis import given, settings

from parley.wire import jsoncodec, xmlcodec
from tests.unit.wire.trees import NAMES, trees

TREES = trees(min_repeat=1, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(root=NAMES, content=TREES)
def test_xml_parses_back_to_the_json_rendering(root, content):
    tree = {root: content}
    assert xmlcodec.parse(xmlcodec.render(tree)) == orjson.loads(jsoncodec.render(tree))
