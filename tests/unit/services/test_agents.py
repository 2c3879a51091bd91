import pytest

from parley.domain.account import AWAY, OCCUPIED, OFFLINE, ONLINE
from parley.domain.chat import CHATTING, ENDED, ONLY_TO_REP, WAITING
from parley.domain.refusals import Forbidden, NotFound, Unauthenticated
from parley.services.accounts import DEMO_ACCOUNT
from parley.services.agents import AgentLine
from parley.services.visitors import VisitorEvent

from ..conftest import log_in
from .steps import add_agent, kinds, start_chat


@pytest.fixture
async def natalie(agents):
    """(login session, agent, agent session) of the demo agent (skill Sales, max 4 chats)."""
    return await log_in(agents)


# -- Login Service --------------------------------------------------------------------------


async def test_login_with_the_demo_credentials(agents):
    login, agent = await agents.login(DEMO_ACCOUNT, "natalie", "natalie")
    assert agent.login == "natalie" and agent.nickname == "Natalie"
    assert login.bearer and login.session.csrf
    assert agents.authenticate(DEMO_ACCOUNT, login.bearer) is login.session


@pytest.mark.parametrize(("user", "password"), [("natalie", "wrong"), ("nobody", "natalie"), ("natalie", "")])
async def test_bad_credentials_are_refused(agents, user, password):
    with pytest.raises(Unauthenticated):
        await agents.login(DEMO_ACCOUNT, user, password)


async def test_login_is_scoped_by_account(engine, agents):
    from parley.services.accounts import Admin

    await Admin(engine.store).create_account("777")
    await engine.reload_directory()
    with pytest.raises(Unauthenticated):
        await agents.login("777", "natalie", "natalie")


async def test_unknown_bearer_is_refused(agents):
    await agents.login(DEMO_ACCOUNT, "natalie", "natalie")
    with pytest.raises(Unauthenticated):
        agents.authenticate(DEMO_ACCOUNT, "0" * 64)
    with pytest.raises(Unauthenticated):
        agents.authenticate(DEMO_ACCOUNT, None)


async def test_bearer_expires_after_the_session_ttl(engine, agents, clock):
    login, _ = await agents.login(DEMO_ACCOUNT, "natalie", "natalie")
    clock.advance(engine.settings.session_ttl + 1)
    with pytest.raises(Unauthenticated):
        agents.authenticate(DEMO_ACCOUNT, login.bearer)


async def test_refresh_extends_the_bearer(engine, agents, clock):
    login, _ = await agents.login(DEMO_ACCOUNT, "natalie", "natalie")
    clock.advance(engine.settings.session_ttl - 10)
    await agents.refresh(login.session)
    clock.advance(20)
    assert agents.authenticate(DEMO_ACCOUNT, login.bearer) is login.session


async def test_bearer_is_refused_after_logout(agents):
    login, _ = await agents.login(DEMO_ACCOUNT, "natalie", "natalie")
    await agents.logout(login.session)
    with pytest.raises(Unauthenticated):
        agents.authenticate(DEMO_ACCOUNT, login.bearer)


# -- sessions and availability ------------------------------------------------------------------


async def test_agent_is_offline_until_a_session_starts(engine, agents):
    _, agent = await agents.login(DEMO_ACCOUNT, "natalie", "natalie")
    assert engine.presence.availability_of(agent.id) == OFFLINE


async def test_a_new_session_is_online_by_default(engine, natalie):
    _, agent, session = natalie
    assert engine.presence.availability_of(agent.id) == ONLINE
    assert str(session.id).isdigit()


async def test_set_availability(engine, agents, natalie):
    agent = natalie[1]
    await agents.set_availability(agent.id, AWAY)
    assert engine.presence.availability_of(agent.id) == AWAY


async def test_session_of_another_agent_is_refused(engine, agents, natalie):
    await add_agent(engine, "bob", ["Sales"])
    bob_login, _, _ = await log_in(agents, "bob", "bob")
    with pytest.raises(Unauthenticated):
        agents.session(bob_login, natalie[2].id)
    with pytest.raises(NotFound):
        agents.session(bob_login, 123)


# -- rings (agent spec §4.3) ------------------------------------------------------------------


async def test_a_new_chat_rings_the_online_agent_with_the_skill(agents, visitors, natalie):
    await start_chat(visitors)
    assert agents.ringing_count(natalie[1].id) == 1


@pytest.mark.parametrize("availability", [AWAY, OCCUPIED])
async def test_only_online_agents_are_rung(agents, visitors, natalie, availability):
    await agents.set_availability(natalie[1].id, availability)
    await start_chat(visitors)
    assert agents.ringing_count(natalie[1].id) == 0


async def test_coming_online_rings_the_waiting_chat(agents, visitors, natalie):
    await agents.set_availability(natalie[1].id, AWAY)
    await start_chat(visitors)
    await agents.set_availability(natalie[1].id, ONLINE)
    assert agents.ringing_count(natalie[1].id) == 1


async def test_agent_without_the_skill_is_not_rung(engine, agents, visitors, natalie):
    sam = await add_agent(engine, "sam", ["Support"])
    await log_in(agents, "sam", "sam")
    await start_chat(visitors, skill="Sales")
    assert agents.ringing_count(sam) == 0
    assert agents.ringing_count(natalie[1].id) == 1


async def test_chat_for_a_skill_rings_only_its_agent(engine, agents, visitors, natalie):
    sam = await add_agent(engine, "sam", ["Support"])
    await log_in(agents, "sam", "sam")
    await start_chat(visitors, skill="Support")
    assert agents.ringing_count(sam) == 1
    assert agents.ringing_count(natalie[1].id) == 0


async def test_agent_who_is_not_logged_in_is_not_rung(engine, agents, visitors, natalie):
    bob = await add_agent(engine, "bob", ["Sales"])
    await start_chat(visitors)
    assert agents.ringing_count(bob) == 0


async def test_rings_stop_at_max_chats(engine, agents, visitors):
    solo = await add_agent(engine, "solo", ["Support"], max_chats=1)
    await log_in(agents, "solo", "solo")
    await start_chat(visitors, skill="Support")
    second = await start_chat(visitors, skill="Support")
    assert agents.ringing_count(solo) == 1
    assert second.state == WAITING  # someone able is logged in: it waits for a slot


async def test_an_accepted_chat_keeps_its_slot(engine, agents, visitors):
    solo = await add_agent(engine, "solo", ["Support"], max_chats=1)
    _, agent, _ = await log_in(agents, "solo", "solo")
    await start_chat(visitors, skill="Support")
    await start_chat(visitors, skill="Support")
    await agents.accept(agent)
    assert agents.ringing_count(solo) == 0


async def test_ending_frees_the_slot_for_the_next_waiting_chat(engine, agents, visitors):
    solo = await add_agent(engine, "solo", ["Support"], max_chats=1)
    _, agent, _ = await log_in(agents, "solo", "solo")
    first = await start_chat(visitors, skill="Support")
    second = await start_chat(visitors, skill="Support")
    assert (await agents.accept(agent)) is first
    await agents.end_chat(agent, first)
    assert agents.ringing_count(solo) == 1
    assert (await agents.accept(agent)) is second


async def test_unlimited_agent_is_rung_for_every_chat(engine, agents, visitors):
    many = await add_agent(engine, "many", ["Support"], max_chats=-1)
    await log_in(agents, "many", "many")
    for _ in range(6):
        await start_chat(visitors, skill="Support")
    assert agents.ringing_count(many) == 6


async def test_ring_goes_to_the_agent_with_fewer_chats(engine, agents, visitors, natalie):
    bob = await add_agent(engine, "bob", ["Sales"])
    _, bob_agent, _ = await log_in(agents, "bob", "bob")
    await start_chat(visitors)  # one of the two gets it
    await start_chat(visitors)  # the other one, who has fewer
    assert agents.ringing_count(natalie[1].id) == 1
    assert agents.ringing_count(bob) == 1


async def test_away_withdraws_rings_and_they_go_to_the_next_agent(engine, agents, visitors, natalie):
    bob = await add_agent(engine, "bob", ["Sales"])
    await log_in(agents, "bob", "bob")
    await start_chat(visitors)
    ringing = natalie[1].id if agents.ringing_count(natalie[1].id) else bob
    other = bob if ringing == natalie[1].id else natalie[1].id
    await agents.set_availability(ringing, AWAY)
    assert agents.ringing_count(ringing) == 0
    assert agents.ringing_count(other) == 1


# -- accept (A9) --------------------------------------------------------------------------------


async def test_accept_when_nothing_rings_is_not_found(agents, natalie):
    with pytest.raises(NotFound):
        await agents.accept(natalie[1])


async def test_accept_starts_the_chat(agents, visitors, natalie, clock):
    chat = await start_chat(visitors)
    clock.advance(3)
    accepted = await agents.accept(natalie[1])
    assert accepted is chat
    assert (chat.state, chat.agent_id, chat.chatting_ms) == (CHATTING, natalie[1].id, clock.now_ms)
    assert kinds(chat) == ["state:waiting", "system:4", "state:chatting", "system:3"]
    assert chat.events[3].fields["text"] == "You are now chatting with Natalie."
    assert agents.ringing_count(natalie[1].id) == 0


async def test_accept_takes_the_oldest_ring(agents, visitors, natalie, clock):
    first = await start_chat(visitors)
    clock.advance(1)
    await start_chat(visitors)
    assert (await agents.accept(natalie[1])) is first


async def test_accepting_twice_takes_two_chats(agents, visitors, natalie, clock):
    first = await start_chat(visitors)
    clock.advance(1)
    second = await start_chat(visitors)
    assert [await agents.accept(natalie[1]), await agents.accept(natalie[1])] == [first, second]
    with pytest.raises(NotFound):
        await agents.accept(natalie[1])


async def test_visitor_lines_posted_while_waiting_reach_the_agent(agents, visitors, natalie):
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="line", text="anyone?"))
    await agents.accept(natalie[1])
    texts = [
        e.fields.get("text") for e in agents.chat_of(natalie[1], chat.agent_key).visible_events(0, visitor_view=False)
    ]
    assert "anyone?" in texts


async def test_visitor_ending_withdraws_the_ring(agents, visitors, natalie):
    # Compatibility rule 9.
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    assert agents.ringing_count(natalie[1].id) == 0
    with pytest.raises(NotFound):
        await agents.accept(natalie[1])


# -- lines and ending (A14) ---------------------------------------------------------------------


@pytest.fixture
async def chatting(agents, visitors, natalie):
    chat = await start_chat(visitors)
    await agents.accept(natalie[1])
    return chat


async def test_agent_line_is_signed_with_the_nickname(agents, natalie, chatting):
    event_id = await agents.post_line(natalie[1], chatting, AgentLine("Hello!"))
    line = chatting.events[event_id]
    assert (line.fields["text"], line.fields["by"], line.fields["source"], line.fields["subType"]) == (
        "Hello!",
        "Natalie",
        "agent",
        "REGULAR",
    )
    assert event_id in [e.id for e in chatting.visible_events(0, visitor_view=True)]


async def test_private_agent_line_is_hidden_from_the_visitor(agents, natalie, chatting):
    event_id = await agents.post_line(natalie[1], chatting, AgentLine("note to self", sub_type=ONLY_TO_REP))
    assert event_id not in [e.id for e in chatting.visible_events(0, visitor_view=True)]
    assert event_id in [e.id for e in chatting.visible_events(0, visitor_view=False)]


async def test_html_line_is_sanitized_and_keeps_its_type(agents, natalie, chatting):
    text = '<p onclick="x()">Hi <b>there</b></p><script>alert(1)</script>'
    event_id = await agents.post_line(natalie[1], chatting, AgentLine(text, text_type="html"))
    fields = chatting.events[event_id].fields
    assert fields["textType"] == "html"
    assert fields["text"] == "<p>Hi <b>there</b></p>"


async def test_plain_line_is_not_sanitized(agents, natalie, chatting):
    event_id = await agents.post_line(natalie[1], chatting, AgentLine("a <b> c", text_type="plain"))
    assert chatting.events[event_id].fields["text"] == "a <b> c"


async def test_agent_ending_appends_line_5_then_state_ended(agents, natalie, chatting):
    event_id = await agents.end_chat(natalie[1], chatting)
    assert chatting.state == ENDED
    assert kinds(chatting, 4) == ["system:5", "state:ended"]
    assert event_id == chatting.next_event_id - 1


async def test_agent_ending_twice_adds_nothing(agents, natalie, chatting):
    first = await agents.end_chat(natalie[1], chatting)
    second = await agents.end_chat(natalie[1], chatting)
    assert first == second
    assert chatting.next_event_id == 6


async def test_agent_line_after_end_is_forbidden(agents, natalie, chatting):
    await agents.end_chat(natalie[1], chatting)
    with pytest.raises(Forbidden):
        await agents.post_line(natalie[1], chatting, AgentLine("late"))
    assert chatting.next_event_id == 6


async def test_duration_after_the_agent_ends(agents, natalie, chatting, clock):
    assert chatting.duration() == 0
    clock.advance(75)
    await agents.end_chat(natalie[1], chatting)
    assert chatting.duration() == 75


async def test_another_agent_cannot_read_the_chat(engine, agents, natalie, chatting):
    await add_agent(engine, "bob", ["Sales"])
    _, bob, _ = await log_in(agents, "bob", "bob")
    assert agents.chat_of(natalie[1], chatting.agent_key) is chatting
    with pytest.raises(NotFound):
        agents.chat_of(bob, chatting.agent_key)
    with pytest.raises(NotFound):
        await agents.post_line(bob, chatting, AgentLine("hijack"))


async def test_the_agent_side_never_opens_a_chat_by_its_visitor_id(agents, natalie, chatting):
    assert chatting.agent_key != chatting.id
    with pytest.raises(NotFound):
        agents.chat_of(natalie[1], chatting.id)


async def test_a_requeue_retires_the_former_agents_key(engine, agents, natalie, chatting):
    await add_agent(engine, "bob", ["Sales"])
    _, bob, _ = await log_in(agents, "bob", "bob")
    former = chatting.agent_key
    await agents.logout(natalie[0])
    assert chatting.agent_key != former
    assert (await agents.accept(bob)) is chatting
    with pytest.raises(NotFound):
        agents.chat_of(bob, former)
    assert agents.chat_of(bob, chatting.agent_key) is chatting


async def test_open_chats_lists_the_agents_chats(agents, natalie, chatting):
    assert agents.open_chats(natalie[1]) == [chatting]
    await agents.end_chat(natalie[1], chatting)
    assert agents.open_chats(natalie[1]) == []


# -- the last session ends (agent spec §4.6) ----------------------------------------------------


async def test_logout_requeues_with_line_23_when_another_agent_can_take_it(engine, agents, natalie, chatting):
    bob = await add_agent(engine, "bob", ["Sales"])
    await log_in(agents, "bob", "bob")
    await agents.logout(natalie[0])
    assert chatting.state == WAITING
    assert chatting.agent_id is None
    assert kinds(chatting, 4) == ["system:23", "state:waiting"]
    assert agents.ringing_count(bob) == 1


async def test_logout_ends_with_line_6_when_nobody_else_can_take_it(agents, natalie, chatting):
    await agents.logout(natalie[0])
    assert chatting.state == ENDED
    assert kinds(chatting, 4) == ["system:6", "state:ended"]


async def test_logout_ends_when_the_only_other_agent_lacks_the_skill(engine, agents, natalie, chatting):
    await add_agent(engine, "sam", ["Support"])
    await log_in(agents, "sam", "sam")
    await agents.logout(natalie[0])
    assert chatting.state == ENDED
    assert kinds(chatting, 4) == ["system:6", "state:ended"]


async def test_logout_makes_the_agent_offline(engine, agents, natalie):
    await agents.logout(natalie[0])
    assert engine.presence.availability_of(natalie[1].id) == OFFLINE


async def test_logout_withdraws_rings(agents, visitors, natalie):
    await start_chat(visitors)
    await agents.logout(natalie[0])
    assert agents.ringing_count(natalie[1].id) == 0


async def test_closing_one_of_two_sessions_changes_nothing(agents, natalie, chatting):
    login, agent, session = natalie
    await agents.start_session(login)
    await agents.close_session(session)
    assert chatting.state == CHATTING
    assert chatting.next_event_id == 4
    assert agents.open_chats(agent) == [chatting]


async def test_closing_the_last_session_requeues_too(engine, agents, natalie, chatting):
    await add_agent(engine, "bob", ["Sales"])
    await log_in(agents, "bob", "bob")
    await agents.close_session(natalie[2])
    assert chatting.state == WAITING
    assert kinds(chatting, 4) == ["system:23", "state:waiting"]


async def test_logout_never_leaves_a_direct_chat_waiting_for_nobody(engine, agents, visitors, natalie):
    # A direct chat is rung only to its agent (§4.3). When that agent's last session ends, the chat
    # must either be offered to someone or end (line 6): not wait with no ring and no one to ring.
    bob = await add_agent(engine, "bob", ["Sales"])
    await log_in(agents, "bob", "bob")
    chat = await start_chat(visitors, skill=None, agent="natalie")
    assert (await agents.accept(natalie[1])) is chat
    await agents.logout(natalie[0])
    if chat.state == WAITING:
        assert agents.ringing_count(bob) == 1
    else:
        assert kinds(chat, 4) == ["system:6", "state:ended"]
