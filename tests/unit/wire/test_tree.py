from parley.wire.tree import Many, one_or_many


def test_many_is_a_list_with_its_items():
    many = Many([1, 2])
    assert isinstance(many, list)
    assert list(many) == [1, 2]


def test_one_or_many_wraps_a_single_object():
    assert one_or_many({"@id": "0"}) == [{"@id": "0"}]


def test_one_or_many_wraps_a_single_scalar():
    assert one_or_many("hello") == ["hello"]


def test_one_or_many_keeps_a_list():
    assert one_or_many([{"a": 1}, {"a": 2}]) == [{"a": 1}, {"a": 2}]


def test_one_or_many_returns_a_copy_of_a_list():
    original = [1, 2]
    result = one_or_many(original)
    result.append(3)
    assert original == [1, 2]


def test_one_or_many_absent_is_empty():
    assert one_or_many(None) == []


def test_one_or_many_empty_element_is_empty():
    # An empty XML element parses to "": no items.
    assert one_or_many("") == []


def test_one_or_many_keeps_zero_and_false():
    assert one_or_many(0) == [0]
    assert one_or_many(False) == [False]
