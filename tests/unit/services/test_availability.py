"""The availability rules the visitor side asks (V2-V4) and the agent roster (A6), as services."""

from parley.services.accounts import DEMO_ACCOUNT, DEMO_AGENT
from parley.services.agents import Agents
from parley.services.availability import UNKNOWN_SKILL, Availability

from ..conftest import log_in
from .steps import add_agent, start_chat


async def test_nobody_logged_in_is_nobody_available(engine):
    service = Availability(engine)
    assert not service.skill_available(DEMO_ACCOUNT, "Sales", None)
    assert service.skill_slots(DEMO_ACCOUNT, "Sales") == 0
    assert not service.agent_available(DEMO_ACCOUNT, DEMO_AGENT)


async def test_an_online_agent_with_slots_makes_the_skill_available_until_full(engine, agents, visitors):
    service = Availability(engine)
    await log_in(agents)
    assert service.skill_available(DEMO_ACCOUNT, "Sales", None)
    assert service.skill_available(DEMO_ACCOUNT, "Sales", 0)
    slots = service.skill_slots(DEMO_ACCOUNT, "Sales")
    assert slots == service.agent_slots(DEMO_ACCOUNT, DEMO_AGENT) > 0
    for _ in range(slots):
        await start_chat(visitors)
    assert service.skill_slots(DEMO_ACCOUNT, "Sales") == 0
    assert service.skill_available(DEMO_ACCOUNT, "Sales", None)  # Online, though full
    assert not service.skill_available(DEMO_ACCOUNT, "Sales", 0)  # maxWaitTime=0: a free slot now
    assert not service.agent_available(DEMO_ACCOUNT, DEMO_AGENT)


async def test_unknown_skill_and_away_agent(engine, agents):
    service = Availability(engine)
    _, _, session = await log_in(agents)
    assert service.skill_id(DEMO_ACCOUNT, "No such skill") == UNKNOWN_SKILL
    assert not service.skill_available(DEMO_ACCOUNT, "No such skill", None)
    await agents.set_availability(session.agent_id, "Away")
    assert service.agent_slots(DEMO_ACCOUNT, DEMO_AGENT) == 0
    assert not service.skill_available(DEMO_ACCOUNT, "Sales", None)


async def test_roster_filters_by_skill_and_state_and_counts_open_chats(engine, agents, visitors):
    await add_agent(engine, "bob", ["Support"])
    _, _, session = await log_in(agents)
    await start_chat(visitors)
    await agents.accept(engine.directory.agent(session.agent_id))
    roster = {agent.login: (availability, chats) for agent, availability, chats in Agents(engine).roster(DEMO_ACCOUNT)}
    assert roster[DEMO_AGENT] == ("Online", 1) and roster["bob"][1] == 0
    assert [a.login for a, _, _ in Agents(engine).roster(DEMO_ACCOUNT, skill="Support")] == ["bob"]
    assert [a.login for a, _, _ in Agents(engine).roster(DEMO_ACCOUNT, chat_state="online")] == [DEMO_AGENT]
    assert Agents(engine).roster(DEMO_ACCOUNT, skill="No such skill") == []
