"""What happens when nobody acts in time: silent visitors, unanswered rings, idle agent
sessions, chats that waited past their ``maxWaitTime``, ended chats past retention.

One sweep checks everything; the engine runs it every ``sweep_interval`` seconds, tests
call it directly with an injected clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.domain import messages
from parley.domain.account import AWAY
from parley.domain.chat import WAITING, Chat
from parley.services.tally import tally

if TYPE_CHECKING:
    from parley.services.engine import Engine


async def sweep(engine: Engine) -> None:
    await _silent_visitors(engine)
    await _unanswered_rings(engine)
    await _idle_sessions(engine)
    await _expired_waits(engine)
    engine.forget_expired()
    if await engine.reload_directory_if_changed():
        engine.route()


def _silent(engine: Engine, chat: Chat) -> bool:
    """No visitor request within chatTimeout; a request held open (long-poll, stream) is activity."""
    if engine.holders.get(chat.id):
        return False
    return chat.active and engine.clock() - chat.last_update_ms > chat.chat_timeout * 1000


async def _silent_visitors(engine: Engine) -> None:
    for chat in [c for c in engine.chats.values() if _silent(engine, c)]:
        async with engine.lock(chat.id):
            if _silent(engine, chat):  # re-checked: the visitor may have polled meanwhile
                await engine.end(chat, messages.DISCONNECTED)


async def _unanswered_rings(engine: Engine) -> None:
    """A ring not accepted in time sets its agent Away (documented) and goes to the next agent.

    In ring mode ``all`` every eligible agent was offered the chat already: rings just stay.
    """
    if engine.settings.ring_mode == "all":
        return
    limit = engine.settings.ring_timeout * 1000
    now = engine.clock()
    late = {ring.agent_id for ring in engine.queue.all_rings() if now - ring.since_ms > limit}
    tally(engine).ring_timeouts += len(late)
    for agent_id in late:
        for chat_id in [ring.chat_id for ring in engine.queue.rings_of(agent_id)]:
            chat = engine.chats.get(chat_id)
            if chat is None or chat.routing.transfer_target != agent_id:
                continue
            # A transfer to an agent who does not answer falls back to the chat's skill queue;
            # committed like any change, so a restart keeps the fallback.
            async with engine.lock(chat_id):
                if chat.state == WAITING and chat.routing.direct_agent_id == agent_id:
                    await engine.append(chat, [], routing=chat.routing.target_unanswered())
        await engine.set_availability(agent_id, AWAY)


async def _idle_sessions(engine: Engine) -> None:
    """Sessions nobody used for the idle timeout, or whose login bearer expired, end (§4.6)."""
    limit = engine.settings.agent_session_idle_timeout * 1000
    now = engine.clock()
    presence = engine.presence
    for login in [login for login in presence.logins.values() if login.expires_ms <= now]:
        presence.drop_login(login)
    ended = [
        s
        for s in presence.sessions.values()
        if now - s.last_seen_ms > limit or s.login_session_id not in presence.logins
    ]
    if ended:
        await engine.close_agent_sessions(ended)


def _waited_too_long(engine: Engine, chat: Chat) -> bool:
    limit = chat.routing.max_wait_seconds
    if chat.state != WAITING or limit is None:
        return False
    return engine.clock() - chat.waiting_since() > limit * 1000


async def _expired_waits(engine: Engine) -> None:
    for chat_id in [c for c in engine.queue.waiting if _waited_too_long(engine, engine.chats[c])]:
        chat = engine.chats[chat_id]
        async with engine.lock(chat_id):
            if _waited_too_long(engine, chat):
                await engine.end(chat, messages.NO_AGENTS)
