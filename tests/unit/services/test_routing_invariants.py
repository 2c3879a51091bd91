"""Routing invariants under random sequences of agent and visitor actions (hypothesis, stateful).

The engine runs for real on a temporary SQLite file (and, in ``TestRoutingOnPostgres``, on a
PostgreSQL database of its own) with an injected clock; each rule is one thing a person does.
After every step the invariants below must hold.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile

import hypothesis.strategies as st
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import parley.services.passwords
from parley.bus.local import LocalBus
from parley.config import Settings
from parley.domain.account import OCCUPIED, ONLINE
from parley.domain.chat import CHATTING, ENDED, WAITING
from parley.domain.refusals import Refusal
from parley.services.accounts import DEMO_ACCOUNT, Admin
from parley.services.agents import Agents
from parley.services.engine import Engine
from parley.services.visitors import ChatRequest, VisitorEvent, Visitors
from parley.store import open_store
from tests import postgres
from tests.unit.conftest import START_MS, ManualClock

# Small capacities so that random runs reach full agents quickly.
AGENTS = {"natalie": (["Sales"], 2), "bob": (["Sales", "Support"], 1), "carol": (["Support"], 1)}
SKILLS = ["Sales", "Support"]


class Routing(RuleBasedStateMachine):
    ring_mode = "single"
    backend = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        parley.services.passwords.HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        self.loop = asyncio.new_event_loop()
        self.folder = tempfile.mkdtemp()
        self.clock = ManualClock(START_MS)
        path = f"{self.folder}/p.db" if self.backend == "sqlite" else postgres.create_database()
        self.database = path
        self.engine = Engine(
            Settings(database=path, chat_timeout=40, ring_timeout=20, ring_mode=self.ring_mode),
            open_store(path),
            LocalBus(),
            clock=self.clock,
        )
        self.agents = Agents(self.engine)
        self.visitors = Visitors(self.engine)
        self.logins: dict[str, object] = {}
        self.chats: list = []

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    @initialize()
    def boot(self) -> None:
        async def setup():
            await self.engine.start(run_timers=False)
            admin = Admin(self.engine.store)
            await admin.create_account(DEMO_ACCOUNT)
            for skill in SKILLS:
                await admin.create_skill(DEMO_ACCOUNT, skill)
            for login, (skills, max_chats) in AGENTS.items():
                await admin.create_agent(DEMO_ACCOUNT, login, login, login.title(), skills, max_chats)
            await self.engine.reload_directory()

        self.run(setup())
        for login in ("natalie", "bob"):  # most runs should start with someone to ring
            self.log_in(login)

    def teardown(self) -> None:
        try:
            self.run(self.engine.stop())
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)
            if self.backend == "postgres":
                postgres.drop_database(self.database)

    def agent(self, login: str):
        return self.engine.directory.agent_by_login(DEMO_ACCOUNT, login)

    def keep_visitors_alive(self) -> None:
        for chat in self.chats:
            self.visitors.touch(chat)

    # -- what agents do --------------------------------------------------------------------

    @rule(login=st.sampled_from(sorted(AGENTS)))
    def log_in(self, login) -> None:
        if login in self.logins:
            return
        password = login
        done, _ = self.run(self.agents.login(DEMO_ACCOUNT, login, password))
        self.run(self.agents.start_session(done.session))
        self.logins[login] = done.session

    @rule(login=st.sampled_from(sorted(AGENTS)))
    def log_out(self, login) -> None:
        if login not in self.logins:
            return
        agent = self.agent(login)
        held = [c for c in self.chats if c.state == CHATTING and c.agent_id == agent.id]
        self.run(self.agents.logout(self.logins.pop(login)))
        for chat in held:  # requeued only when someone logged in could take it, else ended
            if chat.state == WAITING:
                assert chat.events[-2].fields.get("systemMessageId") == 23
                assert self.engine.queue.able_agents(DEMO_ACCOUNT, chat.skill_id, None)
            else:
                assert chat.state == ENDED and chat.events[-2].fields.get("systemMessageId") == 6

    @rule(login=st.sampled_from(sorted(AGENTS)), value=st.sampled_from(["Online", "Away", "Occupied"]))
    def set_availability(self, login, value) -> None:
        if login in self.logins:
            self.run(self.agents.set_availability(self.agent(login).id, value))

    @rule(login=st.sampled_from(sorted(AGENTS)))
    def accept(self, login) -> None:
        if login not in self.logins:
            return
        agent = self.agent(login)
        rings = self.engine.queue.rings_of(agent.id)
        try:
            chat = self.run(self.agents.accept(agent))
        except Refusal:
            assert not rings
            return
        assert rings and chat.id == rings[0].chat_id  # the oldest ring is the one accepted
        assert chat.state == CHATTING and chat.agent_id == agent.id

    @rule()
    def ignore_rings(self) -> None:
        self.keep_visitors_alive()
        self.clock.advance(21)
        self.keep_visitors_alive()
        self.run(self.engine.sweep())

    @rule(pick=st.integers(0, 50))
    def agent_ends(self, pick) -> None:
        chatting = [c for c in self.chats if c.state == CHATTING]
        if chatting:
            chat = chatting[pick % len(chatting)]
            self.run(self.agents.end_chat(self.engine.directory.agent(chat.agent_id), chat))
            assert chat.state == ENDED

    @rule(
        pick=st.integers(0, 50),
        to_skill=st.sampled_from(SKILLS),
        to_agent=st.sampled_from(sorted(AGENTS)),
        by_agent=st.booleans(),
    )
    def transfer(self, pick, to_skill, to_agent, by_agent) -> None:
        chatting = [c for c in self.chats if c.state == CHATTING]
        if not chatting:
            return
        chat = chatting[pick % len(chatting)]
        sender = self.engine.directory.agent(chat.agent_id)
        try:
            if by_agent:
                self.run(self.agents.transfer(sender, chat, target_id=self.agent(to_agent).id, note="over to you"))
            else:
                skill = self.engine.directory.skill_named(DEMO_ACCOUNT, to_skill)
                self.run(self.agents.transfer(sender, chat, skill_id=skill.id))
        except Refusal:
            assert chat.state == CHATTING and chat.agent_id == sender.id  # a refused transfer changes nothing
            return
        assert chat.state == WAITING and chat.agent_id is None

    # -- what visitors do --------------------------------------------------------------------

    @rule(skill=st.sampled_from(SKILLS), priority=st.integers(0, 2))
    def visitor_arrives(self, skill, priority) -> None:
        request = ChatRequest(skill=skill, priority=priority)
        self.chats.append(self.run(self.visitors.start_chat(DEMO_ACCOUNT, request)))

    @rule(pick=st.integers(0, 50))
    def visitor_leaves(self, pick) -> None:
        open_chats = [c for c in self.chats if c.active]
        if open_chats:
            chat = open_chats[pick % len(open_chats)]
            self.run(self.visitors.post(chat, VisitorEvent("state", state=ENDED)))
            assert chat.id not in self.engine.queue.rings

    @precondition(lambda self: sum(c.active for c in self.chats) > 6)
    @rule()
    def visitors_go_silent(self) -> None:
        self.clock.advance(41)
        self.run(self.engine.sweep())
        assert all(not c.active for c in self.chats)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def rings_only_reach_agents_who_can_take_them(self) -> None:
        queue, presence = self.engine.queue, self.engine.presence
        for ring in queue.all_rings():
            chat = self.engine.chats[ring.chat_id]
            agent = self.engine.directory.agent(ring.agent_id)
            assert chat.state == WAITING
            allowed = (ONLINE, OCCUPIED) if chat.routing.transferred else (ONLINE,)
            assert presence.availability_of(agent.id) in allowed
            if chat.routing.direct_agent_id is None and chat.skill_id is not None:
                assert chat.skill_id in agent.skill_ids

    @invariant()
    def nobody_exceeds_max_chats(self) -> None:
        for login in AGENTS:
            agent = self.agent(login)
            if agent is not None:
                assert self.engine.queue.load(agent.id) <= agent.max_chats

    @invariant()
    def each_chat_has_at_most_one_agent_and_no_chat_is_stuck(self) -> None:
        queue, presence = self.engine.queue, self.engine.presence
        for chat in self.chats:
            holders = [a for a, chats in queue.assigned.items() if chat.id in chats]
            if chat.state == CHATTING:
                assert holders == [chat.agent_id]
                assert presence.logged_in(chat.agent_id)  # an agent who left never keeps a chat
            else:
                assert holders == []
            if chat.state == WAITING:
                assert chat.id in queue.waiting

    @invariant()
    def rings_go_out_in_arrival_order_within_a_priority(self) -> None:
        """A ring handed out in this step never skips an earlier unrung chat of the same skill
        and priority. (A ring already out stays, rule 9: when an earlier chat loses its ring,
        for instance because its agent logged out, a later one may still be ringing.)"""
        queue = self.engine.queue
        current = {(ring.chat_id, ring.agent_id) for ring in queue.all_rings()}
        fresh = current - getattr(self, "previous_rings", set())
        self.previous_rings = current

        def plain(chat_id: str) -> bool:
            routing = self.engine.chats[chat_id].routing
            return not (routing.front or routing.direct_agent_id is not None)

        for chat_id, _ in fresh:
            if not plain(chat_id):
                continue
            later = self.engine.chats[chat_id]
            for earlier_id, key in queue.waiting.items():
                earlier = self.engine.chats[earlier_id]
                if (
                    plain(earlier_id)
                    and key < queue.waiting[chat_id]
                    and key[0] == queue.waiting[chat_id][0]
                    and earlier.skill_id == later.skill_id
                ):
                    assert earlier_id in queue.rings


class RoutingRingAll(Routing):
    """Ring mode ``all``: every eligible agent is rung, the first accept wins."""

    ring_mode = "all"

    @invariant()
    def every_eligible_agent_is_rung(self) -> None:
        queue = self.engine.queue
        for chat_id, rings in queue.rings.items():
            chat = self.engine.chats[chat_id]
            if chat.routing.direct_agent_id is not None:
                continue
            for login in AGENTS:
                agent = self.agent(login)
                online = self.engine.presence.availability_of(agent.id) == ONLINE
                if online and chat.skill_id in agent.skill_ids and agent.id not in rings:
                    assert queue.load(agent.id) >= agent.max_chats  # only a full agent may be left out


SETTINGS = settings(
    max_examples=100, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestRouting = Routing.TestCase
TestRouting.settings = SETTINGS
TestRoutingRingAll = RoutingRingAll.TestCase
TestRoutingRingAll.settings = SETTINGS


class RoutingOnPostgres(Routing):
    """The same machine on the PostgreSQL store: what the engine persists and reloads must not
    depend on the backend. Fewer examples: each makes and drops a database."""

    backend = "postgres"


TestRoutingOnPostgres = RoutingOnPostgres.TestCase
TestRoutingOnPostgres.settings = settings(SETTINGS, max_examples=25)
