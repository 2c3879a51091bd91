import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from parley.wire.times import format_time

SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")


def ms(iso_utc: str) -> int:
    return int(datetime.fromisoformat(iso_utc).replace(tzinfo=UTC).timestamp() * 1000)


def test_spec_example_in_new_york_winter():
    # The spec's own example, 2017-02-27T06:24:15.424-05:00, is 11:24:15.424 UTC.
    assert format_time(ms("2017-02-27T11:24:15.424"), ZoneInfo("America/New_York")) == "2017-02-27T06:24:15.424-05:00"


def test_new_york_summer_is_minus_four():
    assert format_time(ms("2017-07-04T16:00:00.007"), ZoneInfo("America/New_York")) == "2017-07-04T12:00:00.007-04:00"


def test_half_hour_offset():
    assert format_time(ms("2024-01-15T12:00:00.500"), ZoneInfo("Asia/Kolkata")) == "2024-01-15T17:30:00.500+05:30"


def test_negative_half_hour_offset():
    # St. John's is UTC-03:30 in winter: the minutes keep the sign of the hours.
    assert format_time(ms("2024-01-15T12:00:00.000"), ZoneInfo("America/St_Johns")) == "2024-01-15T08:30:00.000-03:30"


def test_utc_renders_plus_zero():
    assert format_time(ms("2024-01-15T12:00:00.000"), UTC) == "2024-01-15T12:00:00.000+00:00"
    assert format_time(ms("2024-01-15T12:00:00.000"), ZoneInfo("UTC")) == "2024-01-15T12:00:00.000+00:00"


def test_milliseconds_are_always_three_digits():
    assert format_time(ms("2024-01-15T12:00:00.000") + 9, UTC).endswith(":00.009+00:00")
    assert format_time(ms("2024-01-15T12:00:00.000") + 999, UTC).endswith(":00.999+00:00")


def test_date_changes_with_the_zone():
    assert format_time(ms("2024-01-15T23:30:00.000"), ZoneInfo("Asia/Kolkata")).startswith("2024-01-16T05:00:00")


def test_shape_matches_the_spec_pattern():
    for zone in (UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Kiritimati")):
        assert SHAPE.match(format_time(1_705_320_000_123, zone))
