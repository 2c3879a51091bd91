"""A visitor request held open (long-poll, event stream) counts as activity for the chat timeout."""

from parley.domain.chat import ENDED
from parley.http.push import visitor_holding
from tests.unit.conftest import log_in
from tests.unit.services.steps import start_chat


async def test_a_held_request_keeps_the_chat_alive_past_its_timeout(engine, visitors, agents, clock):
    await log_in(agents)
    chat = await start_chat(visitors)
    with visitor_holding(engine, chat, visitor=True):
        clock.advance(chat.chat_timeout + 5)
        await engine.sweep()
        assert chat.active
    clock.advance(chat.chat_timeout - 1)  # the silence counts from the end of the hold
    await engine.sweep()
    assert chat.active
    clock.advance(2)
    await engine.sweep()
    assert chat.state == ENDED


async def test_an_agent_hold_is_not_visitor_activity(engine, visitors, agents, clock):
    await log_in(agents)
    chat = await start_chat(visitors)
    with visitor_holding(engine, chat, visitor=False):
        clock.advance(chat.chat_timeout + 1)
        await engine.sweep()
    assert chat.state == ENDED
