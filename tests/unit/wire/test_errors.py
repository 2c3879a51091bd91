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


def test_bad_body_is_400_code_5_with_the_observed_message():
    error = errors.bad_body()
    assert (error.status, error.internal_code) == (400, 5)
    assert error.message == "request body does not contain a valid JSON statement!"


def test_out_of_range_is_400_code_11():
    error = errors.out_of_range("bad from")
    assert (error.status, error.internal_code, error.message) == (400, 11, "bad from")


def test_not_found_is_404_code_12():
    error = errors.not_found()
    assert (error.status, error.internal_code, error.message) == (404, 12, "Chat session not found")


def test_unauthorized_is_401_code_10():
    error = errors.unauthorized()
    assert (error.status, error.internal_code, error.message) == (401, 10, "Invalid User")


def test_forbidden_is_403_code_10():
    error = errors.forbidden("chat ended")
    assert (error.status, error.internal_code, error.message) == (403, 10, "chat ended")


def test_attested_codes():
    assert (errors.BAD_BODY, errors.UNAUTHORIZED, errors.NOT_FOUND) == (5, 10, 12)
