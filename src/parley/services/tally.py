"""Running counts of what the contact centre did (lines, ring timeouts, mail): plain integers
that the services add to as it happens and ``/metrics`` reads when it is scraped.

One tally per engine, kept beside it (the engine does not know it is counted).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the engine runs the timers, which count here
    from parley.services.engine import Engine


@dataclass
class Tally:
    visitor_lines: int = 0
    agent_lines: int = 0
    ring_timeouts: int = 0  # rings nobody accepted in time (their agent was set Away)
    mail_sent: int = 0
    mail_retries: int = 0  # attempts that failed and will be tried again
    mail_failures: int = 0  # messages given up for good
    retention_chats: int = 0  # chats the retention sweep deleted
    retention_events: int = 0
    retention_submissions: int = 0  # survey answers and offline messages it deleted
    erasures: int = 0  # visitors erased through the admin API
    webhooks_delivered: int = 0
    webhook_retries: int = 0  # posts that failed and will be tried again
    webhook_failures: int = 0  # deliveries given up for good


_tallies: weakref.WeakKeyDictionary[Engine, Tally] = weakref.WeakKeyDictionary()


def tally(engine: Engine) -> Tally:
    found = _tallies.get(engine)
    if found is None:
        found = _tallies[engine] = Tally()
    return found
