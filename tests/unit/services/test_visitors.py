import re

import pytest

from parley.domain.chat import CHATTING, ENDED, NOT_TYPING, TYPING, WAITING
from parley.domain.ids import MAX_SAFE_INTEGER
from parley.domain.refusals import Forbidden, Invalid
from parley.services.accounts import DEMO_ACCOUNT
from parley.services.visitors import ChatRequest, VisitorEvent, Visitors

from ..conftest import log_in, start_engine
from .steps import add_agent, kinds, skill_id, start_chat

CHAT_ID = re.compile(r"^H\d{19}-[0-9a-f]{32}K\d{7,8}$")


@pytest.fixture
async def natalie(agents):
    """The demo agent, logged in with one agent session (Online by default)."""
    return await log_in(agents)


# -- starting a chat (server spec V9, §5) ---------------------------------------------------


async def test_new_chat_waits_with_state_then_system_line_4(visitors, natalie):
    chat = await start_chat(visitors)
    assert chat.state == WAITING
    assert kinds(chat) == ["state:waiting", "system:4"]
    assert [e.id for e in chat.events] == [0, 1]


async def test_new_chat_ids_have_the_spec_shapes(visitors, natalie):
    chat = await start_chat(visitors)
    assert CHAT_ID.match(chat.id)
    assert 0 < chat.rt_session_id <= MAX_SAFE_INTEGER
    assert 0 < chat.visitor_id <= MAX_SAFE_INTEGER


async def test_two_chats_get_different_ids(visitors, natalie):
    first, second = await start_chat(visitors), await start_chat(visitors)
    assert first.id != second.id
    assert first.rt_session_id != second.rt_session_id
    assert first.visitor_id != second.visitor_id


async def test_event_times_come_from_the_clock(visitors, natalie, clock):
    chat = await start_chat(visitors)
    assert chat.start_ms == clock.now_ms
    assert all(e.time_ms == clock.now_ms for e in chat.events)


async def test_prechat_lines_follow_line_4_for_agents_only(visitors, natalie):
    chat = await start_chat(visitors, prechat_lines=["Name: Joe", "Order: 17"])
    assert [e.fields.get("text") for e in chat.events[2:]] == ["Name: Joe", "Order: 17"]
    assert all(e.agents_only and e.fields["subType"] == "ONLY_TO_REP" for e in chat.events[2:])
    assert [e.id for e in chat.visible_events(0, visitor_view=True)] == [0, 1]


async def test_known_visitor_id_is_reused(visitors, natalie):
    first = await start_chat(visitors)
    second = await start_chat(visitors, visitor_id=first.visitor_id)
    assert second.visitor_id == first.visitor_id


async def test_named_skill_routes_to_that_skill(engine, visitors, natalie):
    chat = await start_chat(visitors, skill="Sales")
    assert chat.skill_id == skill_id(engine, "Sales")


async def test_skill_id_routes_to_that_skill(engine, visitors, natalie):
    chat = await start_chat(visitors, skill=None, skill_id=skill_id(engine, "Sales"))
    assert chat.skill_id == skill_id(engine, "Sales")


@pytest.mark.parametrize("unknown", [-1, 987654])
async def test_unknown_skill_id_routes_like_no_skill(visitors, natalie, unknown):
    # Compatibility rule 3; the demo account marks no default skill, so any agent may take it.
    chat = await start_chat(visitors, skill=None, skill_id=unknown)
    assert chat.skill_id is None
    assert chat.state == WAITING


async def test_chat_timeout_comes_from_the_request(visitors, natalie):
    assert (await start_chat(visitors, interaction_timeout=120)).chat_timeout == 120


async def test_chat_timeout_defaults_to_the_setting(engine, visitors, natalie):
    assert (await start_chat(visitors)).chat_timeout == engine.settings.chat_timeout == 40


async def test_new_chat_is_durable_before_start_chat_returns(visitors, natalie, engine):
    chat = await start_chat(visitors)
    stored = {c.id: c for c in await engine.store.load_chats(0)}
    assert [e.id for e in stored[chat.id].events] == [0, 1]


# -- the no-agent rule (§5, NO_AGENT_POLICY=end) ----------------------------------------------


async def test_nobody_logged_in_ends_the_chat_at_creation_with_line_2(visitors):
    chat = await start_chat(visitors)
    assert chat.state == ENDED
    assert kinds(chat) == ["state:waiting", "system:4", "system:2", "state:ended"]
    assert chat.ended_ms is not None


async def test_nobody_with_the_skill_ends_the_chat(visitors, natalie):
    # Natalie only has Sales.
    chat = await start_chat(visitors, skill="Support")
    assert chat.state == ENDED
    assert kinds(chat)[-2:] == ["system:2", "state:ended"]


async def test_a_logged_in_agent_who_is_away_still_counts(agents, visitors, natalie):
    # "no agent able to take the skill is logged in (any availability)".
    await agents.set_availability(natalie[1].id, "Away")
    chat = await start_chat(visitors)
    assert chat.state == WAITING


async def test_max_wait_time_zero_without_a_free_slot_ends_the_chat(agents, visitors, natalie):
    await agents.set_availability(natalie[1].id, "Away")
    chat = await start_chat(visitors, max_wait_time=0)
    assert chat.state == ENDED
    assert kinds(chat)[-2:] == ["system:2", "state:ended"]


async def test_max_wait_time_zero_with_a_free_slot_waits(visitors, natalie):
    assert (await start_chat(visitors, max_wait_time=0)).state == WAITING


async def test_queue_policy_keeps_the_chat_waiting(db_path, clock):
    from parley.services.accounts import Admin

    engine = await start_engine(db_path, clock, no_agent_policy="queue")
    try:
        await Admin(engine.store).seed_demo()
        await engine.reload_directory()
        chat = await start_chat(Visitors(engine))
        assert chat.state == WAITING
        assert kinds(chat) == ["state:waiting", "system:4"]
    finally:
        await engine.stop()


# -- posting events (V12) -------------------------------------------------------------------


async def test_line_while_waiting_is_accepted(visitors, natalie):
    # Compatibility rule 12.
    chat = await start_chat(visitors)
    event_id = await visitors.post(chat, VisitorEvent(type="line", text="hello?"))
    assert event_id == 2
    line = chat.events[2]
    assert (line.type, line.fields["text"], line.fields["source"], line.agents_only) == (
        "line",
        "hello?",
        "visitor",
        False,
    )


async def test_lines_get_dense_ids(visitors, natalie):
    chat = await start_chat(visitors)
    ids = [await visitors.post(chat, VisitorEvent(type="line", text=str(i))) for i in range(5)]
    assert ids == [2, 3, 4, 5, 6]
    assert [e.id for e in chat.events] == list(range(7))


async def test_line_is_signed_with_the_visitor_name_once_set(visitors, natalie):
    chat = await start_chat(visitors)
    await visitors.set_name(chat, "Joe")
    await visitors.post(chat, VisitorEvent(type="line", text="hi"))
    assert chat.events[-1].fields["by"] == "Joe"
    assert chat.visitor_name == "Joe"


async def test_setting_the_name_appends_no_event(visitors, natalie):
    chat = await start_chat(visitors)
    await visitors.set_name(chat, "Joe")
    assert chat.next_event_id == 2


async def test_rich_content_line_without_text(visitors, natalie):
    chat = await start_chat(visitors)
    content = {"type": "vertical", "elements": [{"type": "button", "title": "Yes"}]}
    await visitors.post(chat, VisitorEvent(type="line", text_type="rich-content", content=content))
    assert chat.events[-1].fields["textType"] == "rich-content"
    assert chat.events[-1].fields["json"] == content


async def test_line_status_is_stored_for_agents_only(visitors, natalie):
    # Compatibility rule 11.
    chat = await start_chat(visitors)
    fields = {"lineStatus": "ACCEPT", "refSequenceId": "1", "source": "visitor"}
    event_id = await visitors.post(chat, VisitorEvent(type="line-status", fields=fields))
    assert chat.events[event_id].type == "line-status"
    assert chat.events[event_id].fields == fields
    assert event_id not in [e.id for e in chat.visible_events(0, visitor_view=True)]
    assert event_id in [e.id for e in chat.visible_events(0, visitor_view=False)]


async def test_visitor_ending_appends_only_state_ended(visitors, natalie):
    chat = await start_chat(visitors)
    event_id = await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    assert chat.state == ENDED
    assert kinds(chat) == ["state:waiting", "system:4", "state:ended"]
    assert event_id == 2


async def test_visitor_ending_twice_adds_nothing(visitors, natalie):
    chat = await start_chat(visitors)
    first = await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    second = await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    assert first == second
    assert chat.next_event_id == 3


async def test_visitor_cannot_set_another_state(visitors, natalie):
    chat = await start_chat(visitors)
    with pytest.raises(Invalid):
        await visitors.post(chat, VisitorEvent(type="state", state=CHATTING))
    assert chat.state == WAITING and chat.next_event_id == 2


async def test_unknown_event_type_is_refused(visitors, natalie):
    chat = await start_chat(visitors)
    with pytest.raises(Invalid):
        await visitors.post(chat, VisitorEvent(type="bogus"))
    assert chat.next_event_id == 2


async def test_line_after_end_is_forbidden(visitors, natalie):
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    with pytest.raises(Forbidden):
        await visitors.post(chat, VisitorEvent(type="line", text="too late"))
    assert chat.next_event_id == 3


async def test_name_after_end_is_forbidden(visitors, natalie):
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    with pytest.raises(Forbidden):
        await visitors.set_name(chat, "Joe")
    assert chat.visitor_name is None


async def test_typing_after_end_is_forbidden(visitors, natalie):
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    with pytest.raises(Forbidden):
        await visitors.set_typing(chat, TYPING)


# -- typing (V18) -----------------------------------------------------------------------------


async def test_typing_is_a_flag_not_an_event(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    await visitors.set_typing(chat, TYPING)
    ttl_ms = engine.settings.typing_ttl * 1000
    assert chat.visitor_typing.current(clock.now_ms, ttl_ms) == TYPING
    assert chat.next_event_id == 2


async def test_typing_expires_after_the_ttl(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    await visitors.set_typing(chat, TYPING)
    clock.advance(engine.settings.typing_ttl + 1)
    assert chat.visitor_typing.current(clock.now_ms, engine.settings.typing_ttl * 1000) == NOT_TYPING


async def test_typing_can_be_cleared(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    await visitors.set_typing(chat, TYPING)
    await visitors.set_typing(chat, NOT_TYPING)
    assert chat.visitor_typing.current(clock.now_ms, engine.settings.typing_ttl * 1000) == NOT_TYPING


# -- account scoping --------------------------------------------------------------------------


async def test_chat_of_another_account_is_not_found(engine, visitors, natalie):
    from parley.domain.refusals import NotFound
    from parley.services.accounts import Admin

    await Admin(engine.store).create_account("777")
    await engine.reload_directory()
    chat = await start_chat(visitors)
    assert engine.chat(DEMO_ACCOUNT, chat.id) is chat
    with pytest.raises(NotFound):
        engine.chat("777", chat.id)


async def test_unknown_account_cannot_start_a_chat(visitors):
    from parley.domain.refusals import NotFound

    with pytest.raises(NotFound):
        await visitors.start_chat("nope", ChatRequest())


async def test_agent_skill_helper_sanity(engine):
    # Guards the fixtures the other tests build on: the demo seed of the account service.
    assert {s.name for s in engine.directory.skills(DEMO_ACCOUNT)} == {"Sales", "Support"}
    agent = engine.directory.agent_by_login(DEMO_ACCOUNT, "natalie")
    assert agent.skill_ids == [skill_id(engine, "Sales")]
    assert await add_agent(engine, "bob", ["Support"]) in engine.directory.snapshot.agents


# -- request fields (V9 table) ------------------------------------------------------------------


@pytest.mark.parametrize(("requested", "used"), [(5, 10), (3600, 3600), (100_000, 86_400)])
async def test_interaction_timeout_is_clamped_to_10_to_86400(visitors, natalie, requested, used):
    assert (await start_chat(visitors, interaction_timeout=requested)).chat_timeout == used


async def test_unknown_visitor_id_gets_a_new_one(visitors, natalie):
    chat = await start_chat(visitors, visitor_id=424242)
    assert chat.state == WAITING
    assert chat.visitor_id != 424242
    assert 0 < chat.visitor_id <= MAX_SAFE_INTEGER


async def test_unknown_skill_name_routes_to_the_default_skill(engine, visitors, natalie):
    from parley.services.accounts import Admin

    await Admin(engine.store).update_account(DEMO_ACCOUNT, default_skill="Sales")
    await engine.reload_directory()
    chat = await start_chat(visitors, skill="No Such Skill")
    assert chat.skill_id == skill_id(engine, "Sales")


async def test_direct_chat_rings_only_the_named_agent(engine, agents, visitors, natalie):
    bob = await add_agent(engine, "bob", ["Sales"])
    await log_in(agents, "bob", "bob")
    chat = await start_chat(visitors, skill=None, agent="bob")
    assert chat.state == WAITING
    assert agents.ringing_count(bob) == 1
    assert agents.ringing_count(natalie[1].id) == 0


async def test_direct_chat_ignores_the_skill(engine, visitors, natalie):
    chat = await start_chat(visitors, skill="Support", agent="natalie")
    assert chat.state == WAITING
    assert chat.skill_id is None


async def test_direct_chat_to_an_agent_not_logged_in_ends_with_line_2(engine, visitors, natalie):
    await add_agent(engine, "bob", ["Sales"])
    chat = await start_chat(visitors, skill=None, agent="bob")
    assert chat.state == ENDED
    assert kinds(chat)[-2:] == ["system:2", "state:ended"]


async def test_direct_chat_ignores_max_wait_time(agents, visitors, natalie):
    # V9: "agent ... When present, skill/serviceQueue/maxWaitTime are ignored." Natalie is logged in
    # (Away, so without a free slot): the direct chat must wait for her rather than end at once.
    await agents.set_availability(natalie[1].id, "Away")
    chat = await start_chat(visitors, skill=None, agent="natalie", max_wait_time=0)
    assert chat.state == WAITING
    assert kinds(chat) == ["state:waiting", "system:4"]


async def test_visitor_ending_a_chatting_chat_frees_the_agent(agents, visitors, natalie):
    chat = await start_chat(visitors)
    await agents.accept(natalie[1])
    await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    assert kinds(chat, 4) == ["state:ended"]
    assert agents.open_chats(natalie[1]) == []


async def test_custom_variables_are_merged_by_name(visitors, natalie):
    chat = await start_chat(visitors, custom_variables=[{"name": "cart", "value": "1"}])
    await visitors.set_custom_variables(chat, [{"name": "cart", "value": "2"}, {"name": "page", "value": "p"}])
    assert sorted((v["name"], v["value"]) for v in chat.custom_variables) == [("cart", "2"), ("page", "p")]
