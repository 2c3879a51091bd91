"""The wait-time estimate on a scripted history of acceptances (injected clock)."""

from tests.unit.conftest import log_in
from tests.unit.services.steps import skill_id, start_chat


async def test_estimate_follows_recent_acceptance_delays(engine, visitors, agents, clock):
    _, natalie, _ = await log_in(agents)  # Sales, 4 slots
    sales = skill_id(engine, "Sales")
    assert engine.queue.estimate(natalie.account_id, sales) == 0  # a free slot, nobody waiting
    for delay in (10, 20, 30):  # three chats accepted 10, 20 and 30 s after they arrived
        chat = await start_chat(visitors)
        clock.advance(delay)
        assert (await agents.accept(natalie)).id == chat.id
    rung = await start_chat(visitors)  # rings natalie: her last slot
    waiting = await start_chat(visitors)
    assert rung.id in engine.queue.rings and waiting.id not in engine.queue.rings  # natalie is full
    # a newcomer has both waiting chats ahead: mean delay 20 s x (2 + 1) / 1 Online agent
    assert engine.queue.estimate(natalie.account_id, sales) == 60
    # the unrung chat is second in the queue: one chat ahead of it
    assert engine.queue.position(waiting) == 2
    assert engine.queue.estimate(natalie.account_id, sales, ahead=1) == 40
    await agents.set_availability(natalie.id, "Away")
    assert engine.queue.estimate(natalie.account_id, sales) == -1


async def test_too_little_history_gives_minus_two(engine, visitors, agents, clock):
    _, natalie, _ = await log_in(agents)
    sales = skill_id(engine, "Sales")
    for _ in range(4):
        await start_chat(visitors)
    await agents.accept(natalie)  # one sample only
    await start_chat(visitors)  # natalie is full (4 slots: 1 chat + 3 rings), this one waits
    assert engine.queue.estimate(natalie.account_id, sales) == -2
