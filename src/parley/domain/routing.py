"""Who gets the next chat (agent spec §4.3): an eligible agent with the fewest chats, then longest idle."""

from __future__ import annotations

from dataclasses import dataclass

from parley.domain.account import OCCUPIED, ONLINE, Agent


@dataclass(frozen=True)
class Candidate:
    agent: Agent
    availability: str
    load: int  # assigned chats plus rings not yet answered
    idle_since_ms: int


def eligible(candidate: Candidate, skill_id: int | None, transferred: bool = False) -> bool:
    """Online (or Occupied, for a transferred chat), below capacity, holding the skill
    (a chat without a skill may go to anyone)."""
    accepted = (ONLINE, OCCUPIED) if transferred else (ONLINE,)
    if candidate.availability not in accepted or not candidate.agent.enabled:
        return False
    if not candidate.agent.has_capacity(candidate.load):
        return False
    return skill_id is None or skill_id in candidate.agent.skill_ids


def ranked(candidates: list[Candidate], skill_id: int | None, transferred: bool = False) -> list[Agent]:
    """Every eligible agent, the preferred first: fewest chats, then idle longest."""
    pool = [c for c in candidates if eligible(c, skill_id, transferred)]
    return [c.agent for c in sorted(pool, key=lambda c: (c.load, c.idle_since_ms, c.agent.id))]


def choose(candidates: list[Candidate], skill_id: int | None, transferred: bool = False) -> Agent | None:
    best = ranked(candidates, skill_id, transferred)
    return best[0] if best else None
