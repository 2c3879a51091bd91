"""The one strict number reader: ASCII digits, bounded length and value, refusals only."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.domain.numbers import MAX_SAFE_INTEGER, is_integer, parse_decimal, parse_integer, to_integer
from parley.domain.refusals import Invalid

# Characters str.isdigit() accepts but that are not ASCII digits: superscript, circled,
# Arabic-Indic, fullwidth, Devanagari, and a decimal digit int() would read.
ODD_DIGITS = ["²", "①", "١", "５", "०", "𝟗"]


@pytest.mark.parametrize(
    "text, value",
    [
        ("0", 0),
        ("7", 7),
        ("007", 7),
        ("42", 42),
        (" 42 ", 42),
        ("\n42\t", 42),
        (str(MAX_SAFE_INTEGER), MAX_SAFE_INTEGER),
    ],
)
def test_reads_ascii_digits(text, value):
    assert parse_integer(text) == value


@pytest.mark.parametrize("digit", ODD_DIGITS)
def test_refuses_digits_that_are_not_ascii(digit):
    assert digit.isdigit()  # the check the old code relied on
    for text in (digit, "1" + digit, digit + "1", digit * 3):
        with pytest.raises(Invalid):
            parse_integer(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "-",
        "+1",
        "1.0",
        "1e3",
        "0x10",
        "1_000",
        "1 000",
        "one",
        "-0",
        "-1",
        "\u20031",
        "1" * 17,
        "1" * 5000,
        str(2**53),
        "9" * 16,
        "12\x00",
    ],
)
def test_refuses_everything_else_non_negative(text):
    with pytest.raises(Invalid):
        parse_integer(text)


def test_negatives_only_when_the_caller_allows_them():
    with pytest.raises(Invalid):
        parse_integer("-5")
    assert parse_integer("-5", minimum=-10) == -5
    with pytest.raises(Invalid):
        parse_integer("-0", minimum=-10)
    with pytest.raises(Invalid):
        parse_integer("-000", minimum=-10)
    with pytest.raises(Invalid):
        parse_integer("-11", minimum=-10)
    with pytest.raises(Invalid):
        parse_integer("--5", minimum=-10)
    assert parse_integer(f"-{MAX_SAFE_INTEGER}", minimum=-(2**60)) == -MAX_SAFE_INTEGER
    with pytest.raises(Invalid):
        parse_integer(f"-{2**53}", minimum=-(2**60))


def test_bounds_are_checked_and_clamped_to_safe_integers():
    assert parse_integer("86400", maximum=86400) == 86400
    with pytest.raises(Invalid):
        parse_integer("86401", maximum=86400)
    with pytest.raises(Invalid):
        parse_integer("0", minimum=1)
    with pytest.raises(Invalid):
        parse_integer(str(2**53), maximum=2**60)


def test_refusal_names_the_value():
    with pytest.raises(Invalid, match="from"):
        parse_integer("1²", "from")


def test_not_a_string_is_refused():
    with pytest.raises(Invalid):
        parse_integer(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("value, expected", [(5, 5), (5.0, 5), ("5", 5), (" 5 ", 5), (0, 0)])
def test_to_integer_takes_numbers_and_digit_strings(value, expected):
    assert to_integer(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        1.5,
        float("inf"),
        float("nan"),
        1e20,
        -1,
        2**53,
        [1],
        {"$": "1"},
        None,
        "1²",
        "١",
    ],
)
def test_to_integer_refuses_the_rest(value):
    with pytest.raises(Invalid):
        to_integer(value)


@pytest.mark.parametrize("text, value", [("0", 0), ("30", 30), ("0.5", 0.5), ("50", 50), (" 1.25 ", 1.25)])
def test_decimal_reads_plain_fractions(text, value):
    assert parse_decimal(text, maximum=50) == value


@pytest.mark.parametrize(
    "text",
    [
        "51",
        "-1",
        "soon",
        "nan",
        "inf",
        "1e1",
        "1_0",
        ".5",
        "5.",
        "١",
        "５",
        "1²",
        "1" * 5000,
        "+1",
    ],
)
def test_decimal_refuses_what_float_would_take(text):
    with pytest.raises(Invalid):
        parse_decimal(text, maximum=50)


def test_is_integer():
    assert is_integer("70648893") and not is_integer("le70648893") and not is_integer("١")


@given(st.text(max_size=40))
def test_any_text_is_a_safe_integer_or_a_refusal(text):
    try:
        value = parse_integer(text, minimum=-MAX_SAFE_INTEGER)
    except Invalid:
        return
    assert -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    assert text.strip(" \t\r\n").lstrip("-").isascii()


@given(st.integers(min_value=0, max_value=MAX_SAFE_INTEGER))
def test_every_safe_integer_reads_back(value):
    assert parse_integer(str(value)) == value
