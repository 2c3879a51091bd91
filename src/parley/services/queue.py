"""The waiting queue and the rings: which waiting chat is offered to which agent (agent spec §4.3).

Everything here is in memory and derived from the chats and the agents' presence, so it is
rebuilt after a restart by looking at the open chats again. Rings are offers, not commitments:
a ring only ever lives while its chat waits (compatibility rule 9).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from parley.domain import routing, waittime
from parley.domain.account import ONLINE
from parley.domain.chat import WAITING, Chat
from parley.services.directory import DirectoryView
from parley.services.presence import Presence

# How many recent acceptance delays per skill feed the wait-time estimate.
WAIT_SAMPLES = 20


@dataclass
class Ring:
    chat_id: str
    agent_id: int
    since_ms: int


class Queue:
    def __init__(self, directory: DirectoryView, presence: Presence, ring_mode: str = "single") -> None:
        self._directory = directory
        self._presence = presence
        # "single": one agent at a time is offered a chat; "all": every eligible agent, first accept wins.
        self.ring_mode = ring_mode
        self._order = itertools.count()
        self.waiting: dict[str, tuple[int, int]] = {}  # chat id -> (priority, arrival), FIFO within a priority
        self.rings: dict[str, dict[int, Ring]] = {}  # chat id -> agent id -> ring
        self._ringing: Counter[int] = Counter()  # agent id -> rings it has: load() asks per candidate
        self.rings_offered = 0  # every ring ever made (a /metrics counter)
        self.assigned: dict[int, set[str]] = {}  # agent id -> open chats assigned to it
        self.chats: dict[str, Chat] = {}
        self.idle_since: dict[int, int] = {}
        self.recent_waits: dict[int | None, deque[int]] = defaultdict(lambda: deque(maxlen=WAIT_SAMPLES))
        # Told the agent id whenever that agent's rings change (wakes long-polls of A8).
        self.notify: Callable[[int], None] = lambda agent_id: None

    def track(self, chat: Chat) -> None:
        """Bring the indexes in line with a chat after each committed change."""
        self.chats[chat.id] = chat
        if chat.state == WAITING:
            if chat.id not in self.waiting:
                arrival = next(self._order)
                # Transferred and requeued chats go to the front of their skill's queue.
                self.waiting[chat.id] = (-chat.routing.priority, -arrival if chat.routing.front else arrival)
        else:
            self.waiting.pop(chat.id, None)
            for agent_id in list(self.rings.get(chat.id, ())):
                self._drop_ring(chat.id, agent_id)
        for agent_id, chat_ids in self.assigned.items():
            if agent_id != chat.agent_id:
                chat_ids.discard(chat.id)
        if chat.active and chat.agent_id is not None and chat.state != WAITING:
            self.assigned.setdefault(chat.agent_id, set()).add(chat.id)
        elif chat.agent_id is not None:
            self.assigned.get(chat.agent_id, set()).discard(chat.id)
        if not chat.active:
            self.chats.pop(chat.id, None)

    def _add_ring(self, ring: Ring) -> None:
        self.rings.setdefault(ring.chat_id, {})[ring.agent_id] = ring
        self._ringing[ring.agent_id] += 1
        self.rings_offered += 1
        self.notify(ring.agent_id)

    def _drop_ring(self, chat_id: str, agent_id: int) -> None:
        rings = self.rings.get(chat_id, {})
        if rings.pop(agent_id, None) is None:
            return
        if not rings:
            del self.rings[chat_id]
        self._ringing[agent_id] -= 1
        if not self._ringing[agent_id]:
            del self._ringing[agent_id]
        self.notify(agent_id)

    def all_rings(self) -> list[Ring]:
        return [ring for rings in self.rings.values() for ring in rings.values()]

    def ring_for(self, chat_id: str, agent_id: int) -> Ring | None:
        return self.rings.get(chat_id, {}).get(agent_id)

    def open_chats(self, agent_id: int) -> int:
        """Chats the agent holds (accepted and not ended)."""
        return len(self.assigned.get(agent_id, ()))

    def load(self, agent_id: int) -> int:
        """Chats the agent holds plus rings it has not answered: both use a slot."""
        return len(self.assigned.get(agent_id, ())) + self._ringing.get(agent_id, 0)

    def rings_of(self, agent_id: int) -> list[Ring]:
        if not self._ringing.get(agent_id):
            return []
        mine = [rings[agent_id] for rings in self.rings.values() if agent_id in rings]
        return sorted(mine, key=lambda r: r.since_ms)

    def withdraw_rings_for(self, chat_id: str) -> None:
        """The chat is offered afresh (its skill changed under it): its rings go."""
        for agent_id in list(self.rings.get(chat_id, ())):
            self._drop_ring(chat_id, agent_id)

    def withdraw_rings_of(self, agent_id: int) -> None:
        for chat_id in [c for c, rings in self.rings.items() if agent_id in rings]:
            self._drop_ring(chat_id, agent_id)
        self.notify(agent_id)

    def candidates(self, account_id: str) -> list[routing.Candidate]:
        return [
            routing.Candidate(
                agent=agent,
                availability=self._presence.availability_of(agent.id),
                load=self.load(agent.id),
                idle_since_ms=self.idle_since.get(agent.id, 0),
            )
            for agent in self._directory.agents(account_id)
        ]

    def route(self, now_ms: int) -> list[Ring]:
        """Offer every waiting chat, oldest first, to an eligible agent (mode "single": to one
        agent while nobody else has it; mode "all": to every eligible agent)."""
        new_rings = []
        blocked: set[tuple] = set()  # who had nobody for them: later chats of the same scope neither
        for chat_id in sorted(self.waiting, key=self.waiting.__getitem__):
            rung = self.rings.get(chat_id, {})
            if rung and self.ring_mode == "single":
                continue
            chat = self.chats[chat_id]
            direct = chat.routing.direct_agent_id
            scope = (
                (chat.account_id, "agent", direct) if direct is not None else (chat.account_id, "skill", chat.skill_id)
            )
            if scope in blocked:
                continue
            pool = self.candidates(chat.account_id)
            transferred = chat.routing.transferred
            if direct is not None:
                pool = [c for c in pool if c.agent.id == direct]
            agents = routing.ranked(pool, None if direct is not None else chat.skill_id, transferred)
            if not agents:
                blocked.add(scope)
                continue
            # In ring mode "all" a chat already ringing also rings agents who became eligible since.
            agents = [agent for agent in agents if agent.id not in rung]
            for agent in agents if self.ring_mode == "all" else agents[:1]:
                ring = Ring(chat_id, agent.id, now_ms)
                self._add_ring(ring)
                new_rings.append(ring)
        return new_rings

    def able_agents(self, account_id: str, skill_id: int | None, direct_agent_id: int | None) -> list:
        """Logged-in agents who could take such a chat, in any availability (the no-agent rule)."""
        out = []
        for agent in self._directory.agents(account_id):
            if not agent.enabled or not self._presence.logged_in(agent.id):
                continue
            if direct_agent_id is not None and agent.id != direct_agent_id:
                continue
            if skill_id is not None and skill_id not in agent.skill_ids:
                continue
            out.append(agent)
        return out

    def free_slots(self, account_id: str, skill_id: int | None) -> int:
        """Sum of free slots of Online agents in scope; -1 if any of them is unlimited."""
        total = 0
        for agent in self._directory.agents(account_id):
            if self._presence.availability_of(agent.id) != ONLINE or not agent.enabled:
                continue
            if skill_id is not None and skill_id not in agent.skill_ids:
                continue
            slots = agent.free_slots(self.load(agent.id))
            if slots < 0:
                return -1
            total += slots
        return total

    def note_acceptance(self, chat: Chat, now_ms: int) -> None:
        self.recent_waits[chat.skill_id].append(now_ms - chat.waiting_since())

    def online_agents(self, account_id: str, skill_id: int | None) -> int:
        return sum(
            1
            for agent in self._directory.agents(account_id)
            if agent.enabled
            and self._presence.availability_of(agent.id) == ONLINE
            and (skill_id is None or skill_id in agent.skill_ids)
        )

    def position(self, chat: Chat) -> int:
        """1-based place of a waiting chat among the waiting chats of its account and skill."""
        mine = self.waiting[chat.id]
        return 1 + sum(
            1
            for other, key in self.waiting.items()
            if key < mine
            and self.chats[other].account_id == chat.account_id
            and self.chats[other].skill_id == chat.skill_id
        )

    def estimate(self, account_id: str, skill_id: int | None, ahead: int | None = None) -> int:
        """The V4 estimate for a new chat, or for a waiting one with ``ahead`` chats before it."""
        return waittime.estimate(
            self.online_agents(account_id, skill_id),
            self.free_slots(account_id, skill_id),
            self.queue_length(account_id, skill_id) if ahead is None else ahead,
            list(self.recent_waits[skill_id]),
        )

    def queue_length(self, account_id: str, skill_id: int | None) -> int:
        return sum(
            1
            for chat_id in self.waiting
            if self.chats[chat_id].account_id == account_id
            and (skill_id is None or self.chats[chat_id].skill_id == skill_id)
        )
