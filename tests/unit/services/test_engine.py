import sqlite3

import pytest

from parley.domain.chat import CHATTING, ENDED, WAITING
from parley.domain.refusals import NotFound
from parley.services.accounts import DEMO_ACCOUNT, Admin
from parley.services.agents import AgentLine, Agents
from parley.services.visitors import ChatRequest, VisitorEvent, Visitors
from parley.store import open_store

from ..conftest import log_in, start_engine
from .steps import kinds, start_chat


@pytest.fixture
async def natalie(agents):
    return await log_in(agents)


# -- chat timeout (server spec §7.3) ------------------------------------------------------------


async def test_silent_visitor_times_out_with_line_6(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    clock.advance(chat.chat_timeout + 1)
    await engine.sweep()
    assert chat.state == ENDED
    assert kinds(chat) == ["state:waiting", "system:4", "system:6", "state:ended"]
    assert chat.ended_ms == clock.now_ms


async def test_no_timeout_before_the_deadline(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    clock.advance(chat.chat_timeout - 1)
    await engine.sweep()
    assert chat.state == WAITING
    assert chat.next_event_id == 2


async def test_a_visitor_request_before_the_deadline_keeps_the_chat_alive(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    clock.advance(30)
    visitors.touch(chat)
    clock.advance(30)  # 60 s after the start, 30 s after the last request
    await engine.sweep()
    assert chat.state == WAITING
    clock.advance(11)  # now 41 s of silence
    await engine.sweep()
    assert chat.state == ENDED


async def test_a_posted_line_counts_as_a_visitor_request(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    clock.advance(30)
    await visitors.post(chat, VisitorEvent(type="line", text="still here"))
    clock.advance(30)
    await engine.sweep()
    assert chat.state == WAITING


async def test_agent_activity_does_not_keep_the_chat_alive(engine, agents, visitors, natalie, clock):
    chat = await start_chat(visitors)
    await agents.accept(natalie[1])
    clock.advance(30)
    await agents.post_line(natalie[1], chat, AgentLine("are you there?"))
    clock.advance(11)
    await engine.sweep()
    assert chat.state == ENDED
    assert kinds(chat, 4)[-2:] == ["system:6", "state:ended"]


async def test_the_requested_interaction_timeout_is_used(engine, visitors, natalie, clock):
    chat = await start_chat(visitors, interaction_timeout=120)
    clock.advance(100)
    await engine.sweep()
    assert chat.state == WAITING
    clock.advance(21)
    await engine.sweep()
    assert chat.state == ENDED


async def test_timeout_while_chatting_frees_the_agent(engine, agents, visitors, natalie, clock):
    chat = await start_chat(visitors)
    await agents.accept(natalie[1])
    clock.advance(chat.chat_timeout + 1)
    await engine.sweep()
    assert chat.state == ENDED
    assert agents.open_chats(natalie[1]) == []


async def test_timeout_withdraws_the_ring(engine, agents, visitors, natalie, clock):
    await start_chat(visitors)
    clock.advance(41)
    await engine.sweep()
    assert agents.ringing_count(natalie[1].id) == 0


async def test_sweeping_an_ended_chat_adds_nothing(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    clock.advance(41)
    await engine.sweep()
    clock.advance(41)
    await engine.sweep()
    assert chat.next_event_id == 4


async def test_timeout_is_durable(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    clock.advance(41)
    await engine.sweep()
    (stored,) = [c for c in await engine.store.load_chats(0) if c.id == chat.id]
    assert stored.state == ENDED
    assert kinds(stored) == kinds(chat)


async def test_max_wait_time_expiry_ends_a_waiting_chat_with_line_2(engine, agents, visitors, natalie, clock):
    # Server spec §5 / §7.3: waiting longer than maxWaitTime without acceptance -> line 2, ended.
    await agents.set_availability(natalie[1].id, "Away")  # logged in, so the chat waits
    chat = await start_chat(visitors, max_wait_time=30, interaction_timeout=3600)
    assert chat.state == WAITING
    clock.advance(20)
    visitors.touch(chat)
    await engine.sweep()
    assert chat.state == WAITING
    clock.advance(11)
    visitors.touch(chat)
    await engine.sweep()
    assert chat.state == ENDED
    assert kinds(chat) == ["state:waiting", "system:4", "system:2", "state:ended"]


# -- retention (server spec §5, §7.3) ------------------------------------------------------------


async def test_ended_chat_stays_readable_within_retention(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    clock.advance(engine.settings.ended_retention - 1)
    await engine.sweep()
    assert engine.chat(DEMO_ACCOUNT, chat.id) is chat


async def test_ended_chat_is_not_found_after_retention(engine, visitors, natalie, clock):
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    clock.advance(engine.settings.ended_retention + 1)
    with pytest.raises(NotFound):
        engine.chat(DEMO_ACCOUNT, chat.id)
    await engine.sweep()
    assert chat.id not in engine.chats


# -- durability (DESIGN §2.1) ----------------------------------------------------------------


async def test_an_answered_post_is_already_committed(engine, visitors, natalie, db_path):
    chat = await start_chat(visitors)
    event_id = await visitors.post(chat, VisitorEvent(type="line", text="durable?"))
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT type, fields FROM events WHERE chat_id = ? AND id = ?", (chat.id, event_id)).fetchone()
    assert row is not None and row[0] == "line" and "durable?" in row[1]


async def test_a_failed_commit_changes_nothing_in_memory(engine, visitors, natalie, monkeypatch):
    chat = await start_chat(visitors)

    async def broken_save(*_):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(engine.store, "save_chat", broken_save)
    with pytest.raises(sqlite3.OperationalError):
        await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    assert chat.state == WAITING
    assert chat.next_event_id == 2


# -- directory changes by another process (the CLI) ------------------------------------------


async def test_sweep_picks_up_an_agent_added_by_another_connection(engine, db_path):
    other = open_store(db_path)
    await other.open()
    await Admin(other).create_agent(DEMO_ACCOUNT, "carl", "carl", "Carl", ["Support"])
    await other.close()
    assert engine.directory.agent_by_login(DEMO_ACCOUNT, "carl") is None
    await engine.sweep()
    assert engine.directory.agent_by_login(DEMO_ACCOUNT, "carl") is not None


# -- restart (DESIGN §2.1, §2.3) ------------------------------------------------------------


async def restart(engine, db_path, clock):
    await engine.stop()
    return await start_engine(db_path, clock)


async def test_restart_keeps_every_chat_and_event_in_order(engine, agents, visitors, natalie, db_path, clock):
    waiting = await start_chat(visitors, prechat_lines=["pre"])
    talking = await start_chat(visitors)
    await agents.accept(natalie[1])  # the oldest ring: `waiting` becomes chatting
    await visitors.post(waiting, VisitorEvent(type="line", text="hi"))
    await agents.post_line(natalie[1], waiting, AgentLine("hello", sub_type="ONLY_TO_REP"))
    ended = await start_chat(visitors)
    await visitors.post(ended, VisitorEvent(type="state", state="ended"))
    before = {
        c.id: [(e.id, e.type, e.time_ms, e.fields, e.agents_only) for e in c.events] for c in (waiting, talking, ended)
    }
    states = {c.id: c.state for c in (waiting, talking, ended)}

    engine = await restart(engine, db_path, clock)
    try:
        for chat_id, events in before.items():
            reloaded = engine.chat(DEMO_ACCOUNT, chat_id)
            assert [(e.id, e.type, e.time_ms, e.fields, e.agents_only) for e in reloaded.events] == events
            assert reloaded.state == states[chat_id]
    finally:
        await engine.stop()


async def test_restart_keeps_chat_fields(engine, agents, visitors, natalie, db_path, clock):
    chat = await start_chat(visitors, interaction_timeout=90, details={"engagementId": 5})
    await visitors.set_name(chat, "Joe")
    clock.advance(2)
    await agents.accept(natalie[1])
    engine = await restart(engine, db_path, clock)
    try:
        reloaded = engine.chat(DEMO_ACCOUNT, chat.id)
        assert (reloaded.visitor_name, reloaded.chat_timeout, reloaded.agent_id) == ("Joe", 90, natalie[1].id)
        assert (reloaded.rt_session_id, reloaded.visitor_id, reloaded.skill_id) == (
            chat.rt_session_id,
            chat.visitor_id,
            chat.skill_id,
        )
        assert reloaded.chatting_ms == chat.chatting_ms
        assert reloaded.details["engagementId"] == 5
    finally:
        await engine.stop()


async def test_restart_keeps_the_agent_key_and_who_requested_the_chat(
    engine, agents, visitors, natalie, db_path, clock
):
    chat = await visitors.start_chat(DEMO_ACCOUNT, ChatRequest(skill="Sales"), requester_agent_id=natalie[1].id)
    await agents.accept(natalie[1])
    key = chat.agent_key
    engine = await restart(engine, db_path, clock)
    try:
        reloaded = Agents(engine).chat_of(engine.directory.agent(natalie[1].id), key)
        assert (reloaded.id, reloaded.requester_agent_id) == (chat.id, natalie[1].id)
        with pytest.raises(NotFound):
            engine.assigned_chat(DEMO_ACCOUNT, chat.id)  # the visitor's id is never an agent-side key
    finally:
        await engine.stop()


async def test_next_event_id_continues_densely_after_restart(engine, visitors, natalie, db_path, clock):
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="line", text="before"))
    engine = await restart(engine, db_path, clock)
    try:
        reloaded = engine.chat(DEMO_ACCOUNT, chat.id)
        event_id = await Visitors(engine).post(reloaded, VisitorEvent(type="line", text="after"))
        assert event_id == 3
        assert [e.id for e in reloaded.events] == [0, 1, 2, 3]
    finally:
        await engine.stop()


async def test_rt_session_ids_stay_unique_after_restart(engine, visitors, natalie, db_path, clock):
    before = await start_chat(visitors)
    engine = await restart(engine, db_path, clock)
    try:
        await Agents(engine).start_session(natalie[0])
        after = await start_chat(Visitors(engine))
        assert after.rt_session_id != before.rt_session_id
    finally:
        await engine.stop()


async def test_downtime_does_not_time_chats_out(engine, visitors, natalie, db_path, clock):
    chat = await start_chat(visitors)
    clock.advance(600)  # the server was down for ten minutes
    engine = await restart(engine, db_path, clock)
    try:
        await engine.sweep()
        assert engine.chat(DEMO_ACCOUNT, chat.id).state == WAITING
    finally:
        await engine.stop()


async def test_chats_ended_past_retention_are_gone_after_restart(engine, visitors, natalie, db_path, clock):
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent(type="state", state="ended"))
    clock.advance(engine.settings.ended_retention + 1)
    engine = await restart(engine, db_path, clock)
    try:
        with pytest.raises(NotFound):
            engine.chat(DEMO_ACCOUNT, chat.id)
    finally:
        await engine.stop()


async def test_queue_order_survives_a_restart(engine, agents, visitors, natalie, db_path, clock):
    # Agent spec §4.3: waiting chats queue in creation order, before and after a restart.
    await agents.set_availability(natalie[1].id, "Away")
    created = []
    for _ in range(3):
        created.append((await start_chat(visitors)).id)
        clock.advance(1)
    engine = await restart(engine, db_path, clock)
    try:
        restarted = Agents(engine)
        await restarted.set_availability(natalie[1].id, "Online")
        accepted = [(await restarted.accept(natalie[1])).id for _ in created]
        assert accepted == created
    finally:
        await engine.stop()


async def test_a_waiting_chat_rings_again_after_restart(engine, visitors, natalie, db_path, clock):
    chat = await start_chat(visitors)
    engine = await restart(engine, db_path, clock)
    try:
        agents = Agents(engine)
        assert agents.ringing_count(natalie[1].id) == 1
        assert (await agents.accept(natalie[1])).id == chat.id
        assert engine.chat(DEMO_ACCOUNT, chat.id).state == CHATTING
    finally:
        await engine.stop()


# -- agent-side timers (agent spec §4.3, §4.6) -----------------------------------------------


async def test_unanswered_ring_times_out_sets_away_and_rings_the_next_agent(engine, agents, visitors, natalie, clock):
    from parley.domain.account import AWAY

    from .steps import add_agent

    await start_chat(visitors)  # natalie logged in first: longest idle, she is rung
    bob = await add_agent(engine, "bob", ["Sales"])
    await log_in(agents, "bob", "bob")
    assert agents.ringing_count(natalie[1].id) == 1
    clock.advance(21)  # RING_TIMEOUT is 20 s
    await engine.sweep()
    assert engine.presence.availability_of(natalie[1].id) == AWAY
    assert agents.ringing_count(natalie[1].id) == 0
    assert agents.ringing_count(bob) == 1


async def test_unanswered_transfer_to_an_agent_falls_back_to_the_skill_durably(
    engine, agents, visitors, natalie, db_path, clock
):
    """A transfer names bob, who lets the ring time out: the chat may now go to any agent of its
    skill, and that change is committed like any other, so a restart does not bring bob back."""
    from .steps import add_agent

    chat = await start_chat(visitors, interaction_timeout=3600)
    await agents.accept(natalie[1])
    bob = await add_agent(engine, "bob", ["Sales"])
    await log_in(agents, "bob", "bob")
    await agents.transfer(natalie[1], chat, target_id=bob)
    assert (chat.routing.direct_agent_id, chat.routing.transfer_target) == (bob, bob)
    assert agents.ringing_count(bob) == 1
    clock.advance(21)  # RING_TIMEOUT is 20 s
    await engine.sweep()
    assert chat.state == WAITING
    assert chat.routing.direct_agent_id is None and chat.routing.transferred

    engine = await restart(engine, db_path, clock)
    try:
        reloaded = engine.chat(DEMO_ACCOUNT, chat.id)
        assert reloaded.routing == chat.routing
        assert reloaded.details == chat.details  # routing is not mixed into what clients see
    finally:
        await engine.stop()


async def test_idle_agent_session_ends_and_its_chats_are_requeued(engine, agents, visitors, natalie, clock):
    from .steps import add_agent

    chat = await start_chat(visitors, interaction_timeout=3600)
    await agents.accept(natalie[1])
    await add_agent(engine, "bob", ["Sales"])
    bob_login, _, bob_session = await log_in(agents, "bob", "bob")
    for _ in range(4):  # bob and the visitor keep polling; natalie's session goes silent
        clock.advance(40)
        agents.session(bob_login, bob_session.id)
        visitors.touch(chat)
        await engine.sweep()
    # AGENT_SESSION_IDLE_TIMEOUT is 120 s: natalie's last session has ended.
    assert chat.state == WAITING
    assert kinds(chat, 4)[:2] == ["system:23", "state:waiting"]


async def test_restart_after_the_agents_login_expired_does_not_keep_an_orphan_chat(
    engine, agents, visitors, natalie, db_path, clock
):
    # Agent spec §4.6: bearer expiry ends the agent's sessions; its chats are requeued or ended (line 6).
    chat = await start_chat(visitors, interaction_timeout=86_400)
    await agents.accept(natalie[1])
    clock.advance(engine.settings.session_ttl + 1)  # down for longer than the bearer lives
    engine = await restart(engine, db_path, clock)
    try:
        await engine.sweep()
        reloaded = engine.chat(DEMO_ACCOUNT, chat.id)
        assert not engine.presence.logged_in(natalie[1].id)
        assert reloaded.state == ENDED
        assert kinds(reloaded, 4) == ["system:6", "state:ended"]
    finally:
        await engine.stop()
