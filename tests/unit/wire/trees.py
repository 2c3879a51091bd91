"""Hypothesis strategies for the document trees both encodings carry (DESIGN §2.5)."""

from hypothesis import strategies as st

TEXT = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=12)
NAMES = st.sampled_from(["event", "link", "state", "text", "question", "entry"])
ATTRIBUTES = st.sampled_from(["@id", "@type", "@href", "@rel"])


def trees(*, min_repeat: int, max_leaves: int):
    """Text leaves under elements with up to two attributes; a repeated element comes at least
    ``min_repeat`` times (a list of one is an object once rendered to XML and read back)."""

    def elements(children):
        attributes = st.dictionaries(ATTRIBUTES, TEXT, max_size=2)
        repeated = st.lists(children, min_size=min_repeat, max_size=3)
        members = st.dictionaries(NAMES, st.one_of(children, repeated), max_size=3)
        return st.builds(lambda a, m: {**a, **m}, attributes, members).filter(bool)

    return st.recursive(TEXT, elements, max_leaves=max_leaves)
