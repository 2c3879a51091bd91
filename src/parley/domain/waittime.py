"""The estimated-wait-time rule (server spec V4).

Result: 0 when an agent can take a chat now, -1 when nobody who could take it is online,
-2 when there is too little history to estimate, else seconds: the mean of the recent
acceptance delays of the skill, times the visitor's place in the queue (1-based), divided by
the number of online agents of the skill.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_SAMPLES = 3


def estimate(online_agents: int, free_slots: int, queue_length: int, recent_waits_ms: Sequence[int]) -> int:
    if online_agents == 0:
        return -1
    if free_slots != 0 and queue_length == 0:
        return 0
    if len(recent_waits_ms) < MIN_SAMPLES:
        return -2
    mean_seconds = sum(recent_waits_ms) / len(recent_waits_ms) / 1000
    return max(1, round(mean_seconds * (queue_length + 1) / online_agents))
