"""Whether a visitor would be served now: someone Online for a skill or an agent, free slots, and
the estimated wait (server spec V2-V4; the agent side's availableSlots answers the same)."""

from __future__ import annotations

from parley.domain.account import ONLINE
from parley.services.engine import Engine

# A skill nobody configured has no agents: questions about it go to an id nobody holds.
UNKNOWN_SKILL = -1


class Availability:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def skill_id(self, account_id: str, name: str | None) -> int | None:
        """None: any skill (no name given); UNKNOWN_SKILL: a name the account does not have."""
        if not name:
            return None
        skill = self.engine.directory.skill_named(account_id, name)
        return skill.id if skill else UNKNOWN_SKILL

    def skill_available(self, account_id: str, skill_name: str | None, max_wait: int | None) -> bool:
        """No ``max_wait``: someone Online; 0: someone Online with a free slot; else the estimate fits."""
        queue = self.engine.queue
        skill_id = self.skill_id(account_id, skill_name)
        online = queue.online_agents(account_id, skill_id) > 0
        if max_wait is None or not online:
            return online
        if max_wait == 0:
            return queue.free_slots(account_id, skill_id) != 0
        return 0 <= queue.estimate(account_id, skill_id) <= max_wait

    def agent_slots(self, account_id: str, login: str) -> int:
        """Chats the agent with this login could take now: 0 unless Online."""
        engine = self.engine
        agent = engine.directory.agent_by_login(account_id, login)
        if agent is None or engine.presence.availability_of(agent.id) != ONLINE:
            return 0
        return agent.free_slots(engine.queue.load(agent.id))

    def agent_available(self, account_id: str, login: str) -> bool:
        engine = self.engine
        agent = engine.directory.agent_by_login(account_id, login)
        return (
            agent is not None
            and engine.presence.availability_of(agent.id) == ONLINE
            and agent.has_capacity(engine.queue.load(agent.id))
        )

    def skill_slots(self, account_id: str, skill_name: str | None) -> int:
        return self.engine.queue.free_slots(account_id, self.skill_id(account_id, skill_name))

    def estimated_wait(self, account_id: str, skill_name: str | None) -> int:
        return self.engine.queue.estimate(account_id, self.skill_id(account_id, skill_name))
