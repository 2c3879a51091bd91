"""History's trees: the fast time formatting an export uses says exactly what ``format_time`` says."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

from parley.services.history import _Names
from parley.store.protocol import Directory
from parley.wire.times import format_time

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe")


def test_export_times_are_format_times_across_offsets_and_daylight_saving_changes():
    rng = random.Random(7)
    for name in ZONES:
        zone = ZoneInfo(name)
        names = _Names(Directory({}, {}, {}, {}, {}), zone)
        # Random instants 1990..2040, and every minute around this zone's changes in 2026.
        instants = [rng.randrange(631_152_000_000, 2_208_988_800_000) for _ in range(3000)]
        start = 1_767_225_600_000  # 2026-01-01
        for day in range(365):
            noon = start + day * 86_400_000
            if format_time(noon, zone)[-6:] != format_time(noon + 86_400_000, zone)[-6:]:
                instants += range(noon, noon + 86_400_000 + 1, 60_000)
        instants += [0, 999, start - 1, start + 123]
        for instant in instants:
            assert names.time(instant) == format_time(instant, zone), (name, instant)
    assert names.time(None) is None
