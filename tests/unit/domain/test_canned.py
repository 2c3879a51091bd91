import pytest

from parley.domain.canned import MAX_TEXT, MAX_TITLE, checked
from parley.domain.refusals import Invalid


def test_title_and_text_are_trimmed():
    assert checked("  Greeting ", "  Hello!\n") == ("Greeting", "Hello!")


def test_a_missing_title_is_the_texts_first_line_cut_to_the_title_bound():
    assert checked(None, "Thanks for waiting.\nAn agent is here.") == (
        "Thanks for waiting.",
        "Thanks for waiting.\nAn agent is here.",
    )
    assert checked("", "x" * MAX_TEXT)[0] == "x" * MAX_TITLE


@pytest.mark.parametrize(
    "title, text, message",
    [
        ("t", None, "non-blank"),
        ("t", " \n ", "non-blank"),
        ("t", "x" * (MAX_TEXT + 1), f"longer than {MAX_TEXT}"),
        ("x" * (MAX_TITLE + 1), "text", f"longer than {MAX_TITLE}"),
    ],
)
def test_blank_or_oversized_values_are_refused(title, text, message):
    with pytest.raises(Invalid, match=message):
        checked(title, text)


def test_values_at_the_bounds_are_kept():
    assert checked("t" * MAX_TITLE, "x" * MAX_TEXT) == ("t" * MAX_TITLE, "x" * MAX_TEXT)
