"""A chat whose agent left goes back to the front of its queue (issue 3, agent spec §4.6)."""

from parley.domain.chat import CHATTING, WAITING
from tests.unit.conftest import log_in
from tests.unit.services.steps import add_agent, start_chat


async def test_requeued_chat_is_offered_before_chats_that_were_already_waiting(engine, visitors, agents):
    natalie_login, natalie, _ = await log_in(agents)
    await add_agent(engine, "bob", ["Sales"], max_chats=1)
    _, bob, _ = await log_in(agents, "bob", "bob")
    await agents.set_availability(bob.id, "Away")
    held = await start_chat(visitors)
    assert (await agents.accept(natalie)).id == held.id
    await agents.set_availability(natalie.id, "Away")
    already_waiting = await start_chat(visitors)
    await agents.logout(natalie_login)
    assert held.state == WAITING and already_waiting.state == WAITING
    await agents.set_availability(bob.id, "Online")
    taken = await agents.accept(bob)
    assert taken.id == held.id and taken.state == CHATTING
    assert taken.routing.requeued is False and taken.routing.front is False  # accepted: hints dropped
