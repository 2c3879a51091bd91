from parley.wire import errors
from parley.wire.errors import ApiError, error_tree


def test_error_tree_has_time_message_code_in_order():
    tree = error_tree("2017-12-06T14:09:08.703-05:00", ApiError(401, 10, "Invalid User"))
    assert tree == {"error": {"time": "2017-12-06T14:09:08.703-05:00", "message": "Invalid User", "internalCode": 10}}
    assert list(tree["error"]) == ["time", "message", "internalCode"]


def test_error_tree_appends_extra_members_after_the_code():
    tree = error_tree("t", ApiError(400, 11, "bad", field="from"))
    assert list(tree["error"]) == ["time", "message", "internalCode", "field"]
    assert tree["error"]["field"] == "from"


def test_api_error_message_is_the_exception_text():
    error = ApiError(404, 12, "Chat session not found")
    assert str(error) == "Chat session not found"


def test_attested_codes():
    assert (errors.BAD_BODY, errors.UNAUTHORIZED, errors.NOT_FOUND) == (5, 10, 12)
