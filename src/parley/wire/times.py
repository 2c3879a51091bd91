"""Timestamps as the API writes them: ``yyyy-MM-dd'T'HH:mm:ss.SSS±HH:MM`` in the account's zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def format_time(epoch_ms: int, zone: ZoneInfo | timezone) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=zone)
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{epoch_ms % 1000:03d}{sign}{hours:02d}:{mins:02d}"
