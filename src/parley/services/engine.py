"""The running contact centre: in-memory view of open chats, the one writer path, and the timers.

Reads are served from memory (idle polls touch no database, DESIGN §2.4); every change goes
through ``append``, which commits the chat row and its new events together before anything
in memory changes, so a 2xx always means durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from parley.bus import DIRECTORY_TOPIC, Bus, agent_topic, chat_topic
from parley.config import Settings
from parley.domain import messages
from parley.domain.account import ONLINE
from parley.domain.chat import (
    CHAT_ROW_FIELDS,
    ENDED,
    WAITING,
    Chat,
    Draft,
    Event,
    Typing,
    ending,
    state_event,
    system_line,
)
from parley.domain.ids import new_agent_key
from parley.domain.refusals import NotFound
from parley.domain.session import AgentSession
from parley.services import timers
from parley.services.directory import DirectoryView
from parley.services.presence import Presence
from parley.services.queue import Queue
from parley.store.protocol import Directory, NotLeading, Store

if TYPE_CHECKING:
    from parley.services.cluster import Cluster

log = logging.getLogger("parley.engine")

# A retry with the same Idempotency-Key within this window gets the original answer.
IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000
# rtSessionId values start above 2^32, as the real service's do.
RT_SESSION_BASE = 4294967296


def system_clock() -> int:
    return int(time.time() * 1000)


class Engine:
    def __init__(self, settings: Settings, store: Store, bus: Bus, clock: Callable[[], int] = system_clock) -> None:
        """``store`` and ``bus`` are chosen by the caller (the app factory): any backends of the protocols."""
        self.settings = settings
        self.store = store
        self.clock = clock
        self.directory = DirectoryView(Directory({}, {}, {}, {}, {}))
        self.presence = Presence()
        self.queue = Queue(self.directory, self.presence, settings.ring_mode)
        self.chats: dict[str, Chat] = {}
        self.agent_keys: dict[str, str] = {}  # agent key of a chat's current assignment -> chat id
        self._locks: dict[str, asyncio.Lock] = {}
        self._next_rt_session = RT_SESSION_BASE
        self.change_counter: int | None = None
        self._stored_availability: dict[int, str] = {}  # as the store had it at the last directory load
        self._workers: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self.bus = bus
        self.queue.notify = lambda agent_id: self.bus.publish(agent_topic(agent_id))
        self.request_keys: dict[str, tuple[str, int, int]] = {}  # key -> (chat id, event id, time)
        self._key_locks: dict[str, asyncio.Lock] = {}
        # Visitor requests currently held open on a chat (long-poll, event stream): activity.
        self.holders: dict[str, int] = defaultdict(int)
        self._tasks: list[asyncio.Task] = []
        # Many nodes: the cluster this engine is part of, and whether it only reads (a follower).
        self.cluster: Cluster | None = None
        self.replica = False
        self._directory_lock = asyncio.Lock()
        # Told after every commit of a change (a worker with an outbox to read, e.g. the webhooks' sender).
        self.commit_listeners: list[Callable[[], None]] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, *, run_timers: bool = True) -> None:
        """The embedded mode: open the store and load the whole state (many nodes: ``Cluster.start``)."""
        await self.open()
        await self.load(replica=False, run_timers=run_timers)

    async def open(self) -> None:
        await self.store.open()
        await self.reload_directory()

    async def load(self, *, replica: bool, run_timers: bool = True) -> None:
        """Build the in-memory view from the store. A replica (a follower node) only reads: no
        routing, no timers, no workers; it may be loaded again as the leader later. Everything is
        read first and swapped in at once, so requests served meanwhile see the old view whole."""
        await self.reload_directory()
        now = self.clock()
        logins = await self.store.load_logins(now)
        sessions = await self.store.load_agent_sessions()
        loaded = await self.store.load_chats(now - self.settings.ended_retention * 1000)
        rt_session = await self.store.max_rt_session_id()
        # From here to the end of the swap, nothing awaits: no request sees half a view.
        self.replica = replica
        self.presence = Presence()
        self.presence.availability.update(self._stored_availability)
        self.queue = Queue(self.directory, self.presence, self.settings.ring_mode)
        self.queue.notify = lambda agent_id: self.bus.publish(agent_topic(agent_id))
        agents = self.directory.snapshot.agents
        for login in logins:
            if login.agent_id not in agents or agents[login.agent_id].enabled:  # disabled while we were down: out
                self.presence.add_login(login)
        for session in sessions:
            if session.login_session_id in self.presence.logins:
                session.last_seen_ms = now  # idle time counts from the restart
                self.presence.add_session(session)
        before, self.chats = self.chats, {}
        self.agent_keys.clear()
        self.request_keys.clear()
        for chat in loaded:
            # Visitors could not reach us while we were down: their silence starts now.
            chat.last_update_ms = now
            known = before.get(chat.id)
            if known is not None:  # a request may hold this object (a long-poll): keep it, made current
                for name in CHAT_ROW_FIELDS:
                    setattr(known, name, getattr(chat, name))
                known.events[:] = chat.events
                known.last_update_ms = now
                chat = known
            self._adopt(chat)
        self._next_rt_session = max(RT_SESSION_BASE, rt_session) + 1
        if replica:
            return
        for agent_id in [a for a in self.queue.assigned if not self.presence.logged_in(a)]:
            await self._release(agent_id)  # its login expired while we were down
        await self._move_chats_of_deleted_skills()  # deleted (by the CLI) while we were down or following
        self.route()
        if run_timers:
            self._tasks.append(asyncio.create_task(self._sweep_forever()))
            self._tasks += [asyncio.create_task(worker()) for worker in self._workers]

    def _adopt(self, chat: Chat) -> None:
        self.chats[chat.id] = chat
        self.agent_keys[chat.agent_key] = chat.id
        self._index_keys(chat, chat.events)
        self.queue.track(chat)

    async def catch_up(self, chat_id: str) -> Chat | None:
        """A replica reads what the store has beyond its view of one chat (news from the bus, or a
        client asking for more than the view holds); the leader's view is always whole."""
        chat = self.chats.get(chat_id)
        if not self.replica:
            return chat
        stored = await self.store.load_chat(chat_id, 0 if chat is None else chat.next_event_id)
        if self.cluster is not None:
            self.cluster.store_reads += 1
        if stored is None:
            if chat is not None and self.chats.get(chat_id) is chat:  # deleted (retention, erasure)
                self.forget_chat(chat)
            return self.chats.get(chat_id)
        if chat is not None and chat_id not in self.chats:
            return None  # forgotten (past retention) while we read
        return self.absorb(stored)

    def absorb(self, stored: Chat) -> Chat:
        """Takes a newer state of a chat into a replica's view (from the store, or from the bus):
        ``stored`` holds the chat row and its events from the view's next one on (all of them
        for a chat the view lacks). Synchronous, so no request sees half of it."""
        chat = self.chats.get(stored.id)
        if chat is None:
            stored.last_update_ms = self.clock()
            self._adopt(stored)
            return stored
        if stored.version <= chat.version:
            return chat
        fresh = [event for event in stored.events if event.id >= chat.next_event_id]
        if stored.agent_key != chat.agent_key:
            self.agent_keys.pop(chat.agent_key, None)
        for name in CHAT_ROW_FIELDS:
            setattr(chat, name, getattr(stored, name))
        chat.events.extend(fresh)
        self.agent_keys[chat.agent_key] = chat.id
        self._index_keys(chat, fresh)
        self.queue.track(chat)
        return chat

    async def refresh(self, chat_id: str, want_event: int = -1) -> None:
        """A replica reads the store when its view lacks the chat or the event ``want_event``
        (read-your-writes across nodes); a no-op on the leader, whose view is whole."""
        if not self.replica:
            return
        chat = self.chats.get(chat_id)
        if chat is None or want_event >= chat.next_event_id:
            await self.catch_up(chat_id)

    async def reload_directory_if_changed(self) -> bool:
        if await self.store.change_counter() == self.change_counter:
            return False
        await self.reload_directory()
        await self.forget_missing()
        return True

    async def forget_missing(self) -> None:
        """Chats another process deleted (``parley erase``, the retention sweep of the leader)
        leave this view: the same change counter that brings configuration says the store moved."""
        now = self.clock()
        held = [chat for chat in self.chats.values() if not self.expired(chat, now)]  # before the read:
        # a chat created while it runs is in memory only after its commit, so it is never taken for gone.
        stored = await self.store.chat_versions(now - self.settings.ended_retention * 1000 - 1)
        self.forget_deleted([chat.id for chat in held if chat.id not in stored])

    def forget_deleted(self, chat_ids: list[str]) -> None:
        """Chats deleted from the store (retention, erasure) leave the view now; requests waiting
        on them wake (and find nothing), followers hear of it on the bus."""
        for chat_id in chat_ids:
            chat = self.chats.get(chat_id)
            if chat is not None:
                self.forget_chat(chat)
                if not chat.active:  # (always, but on a follower that missed the end) out of the queue's indexes
                    self.queue.track(chat)
            self.bus.publish(chat_topic(chat_id))

    def add_worker(self, worker: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A background loop (e.g. the mail sender) that runs from start until stop."""
        self._workers.append(worker)

    @property
    def draining(self) -> bool:
        return self.bus.closed

    def drain(self) -> None:
        """The server is stopping: every held long-poll and event stream answers now with what
        it has (a poll exactly as a plain poll would), and no new request waits. Idempotent."""
        if not self.bus.closed:
            self.bus.close()

    async def stop(self) -> None:
        self.drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.store.close()

    async def reload_directory(self) -> None:
        # One reload at a time: two overlapping ones (the timer's and an admin request's) could
        # otherwise finish in the wrong order and put the older snapshot back (a disabled agent
        # logging in again, a revoked key accepted).
        async with self._directory_lock:
            counter = await self.store.change_counter()
            snapshot = await self.store.load_directory()
            self.change_counter = counter
            self._install_directory(snapshot)
        if not self.replica:
            await self._log_out_disabled()
            await self._move_chats_of_deleted_skills()

    def _install_directory(self, snapshot: Directory) -> None:
        self.directory.replace(snapshot)
        self._stored_availability = snapshot.availability
        for agent_id, availability in snapshot.availability.items():
            self.presence.availability.setdefault(agent_id, availability)

    async def _log_out_disabled(self) -> None:
        """A disabled agent's logins end now (its bearers stop working, its chats are requeued or
        ended as at a logout), whichever process disabled it."""
        agents = self.directory.snapshot.agents
        gone = [
            login
            for login in self.presence.logins.values()
            if login.agent_id in agents and not agents[login.agent_id].enabled
        ]
        now = self.clock()
        for login in gone:
            await self.store.set_login_expiry(login.id, now)
            await self.close_agent_sessions(self.presence.drop_login(login))

    async def _move_chats_of_deleted_skills(self) -> None:
        """Open chats of a deleted skill go where the deletion said (``moved``), whichever process
        deleted it: a waiting one is told it is transferred (line 15) and queued for the new skill;
        a held one only changes its skill. Without a successor (a chat that came in as the skill
        was deleted) a waiting chat ends (line 6)."""
        moved = self.directory.snapshot.moved
        if not moved:
            return
        for chat in [c for c in self.chats.values() if c.active and c.skill_id in moved]:
            async with self.lock(chat.id):
                if not chat.active or chat.skill_id not in moved:
                    continue
                target = moved[chat.skill_id]
                if chat.state == WAITING and target is None:
                    await self.end(chat, messages.DISCONNECTED)
                elif chat.state == WAITING:
                    self.queue.withdraw_rings_for(chat.id)
                    await self.append(chat, [system_line(messages.TRANSFERRED_TO_SKILL)], skill_id=target)
                else:
                    await self.append(chat, [], skill_id=target)

    async def directory_changed(self) -> None:
        """An administrator changed the configuration through this process (the admin API): read it
        now, route with it, and tell the other nodes (they also notice by the store's change
        counter, within a second, should the bus be down). SQLite's counter does not move for a
        process's own writes, so this call is what makes such a change reach this engine."""
        await self.reload_directory()
        self.route()
        self.bus.publish(DIRECTORY_TOPIC)

    # -- the writer path -------------------------------------------------------------------

    def lock(self, chat_id: str) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    def forget_lock(self, chat_id: str) -> None:
        self._locks.pop(chat_id, None)

    def new_rt_session_id(self) -> int:
        value = self._next_rt_session
        self._next_rt_session += 1
        return value

    def stamp(self, chat: Chat, drafts: list[Draft], now_ms: int, request_key: str | None = None) -> list[Event]:
        first = chat.next_event_id
        events = [Event(first + i, d.type, now_ms, d.fields, d.agents_only) for i, d in enumerate(drafts)]
        if events and request_key is not None:
            events[0].request_key = request_key  # committed with the events: a retry can never double them
        return events

    async def append(self, chat: Chat, drafts: list[Draft], request_key: str | None = None, **changes) -> list[Event]:
        """The one way events are written: commit row + events, then update memory. Hold the chat's lock."""
        now = self.clock()
        events = self.stamp(chat, drafts, now, request_key)
        if changes.get("state") == ENDED and chat.ended_ms is None:
            changes.setdefault("ended_ms", now)
        changes["version"] = chat.version + 1
        staged = dataclasses.replace(chat, **changes)
        await self._fenced(self.store.save_chat(staged, events))
        if staged.agent_key != chat.agent_key:  # retired: the former agent's URIs name nothing now
            self.agent_keys.pop(chat.agent_key, None)
        for name, value in changes.items():
            setattr(chat, name, value)
        self._committed(chat, events)
        return events

    async def create(
        self, chat: Chat, drafts: list[Draft], new_visitor: bool, request_key: str | None = None
    ) -> list[Event]:
        events = self.stamp(chat, drafts, chat.start_ms, request_key)
        await self._fenced(self.store.insert_chat(chat, events, new_visitor))
        self.chats[chat.id] = chat
        self._committed(chat, events)
        return events

    async def _fenced(self, write: Awaitable[None]) -> None:
        try:
            await write
        except NotLeading:
            if self.cluster is not None:
                self.cluster.lost_lead()
            raise

    def _committed(self, chat: Chat, events: list[Event]) -> None:
        chat.events.extend(events)
        self.agent_keys[chat.agent_key] = chat.id
        self._index_keys(chat, events)
        self.queue.track(chat)
        self.route()
        change = self.cluster.change(chat, events) if self.cluster is not None else None
        self.bus.publish(chat_topic(chat.id), chat.version, change)
        self.changed()

    def changed(self) -> None:
        """A change was committed (a chat's here; survey answers call it themselves)."""
        for listener in self.commit_listeners:
            listener()

    # -- idempotent requests (Idempotency-Key, clientMessageId) ---------------------------

    def _index_keys(self, chat: Chat, events: list[Event]) -> None:
        for event in events:
            if event.request_key is not None:
                self.request_keys[event.request_key] = (chat.id, event.id, event.time_ms)

    def keyed(self, request_key: str | None):
        """Serializes requests that carry the same key, so concurrent retries append once."""
        if request_key is None:
            return contextlib.nullcontext()
        lock = self._key_locks.get(request_key)
        if lock is None:
            lock = self._key_locks[request_key] = asyncio.Lock()
        return lock

    def replay(self, request_key: str | None) -> tuple[Chat, int] | None:
        """(chat, first event id) of the earlier request with this key, within the window."""
        hit = self.request_keys.get(request_key) if request_key is not None else None
        if hit is None or self.clock() - hit[2] > IDEMPOTENCY_WINDOW_MS or hit[0] not in self.chats:
            return None
        return self.chats[hit[0]], hit[1]

    def forget_old_keys(self, now_ms: int) -> None:
        for key in [k for k, hit in self.request_keys.items() if now_ms - hit[2] > IDEMPOTENCY_WINDOW_MS]:
            del self.request_keys[key]
        for key in [k for k, lock in self._key_locks.items() if not lock.locked()]:
            del self._key_locks[key]

    async def wait_for_chat(self, chat_id: str, timeout: float) -> bool:
        """True when the chat got new events within ``timeout`` seconds."""
        return await self.bus.wait(chat_topic(chat_id), timeout)

    async def wait_for_rings(self, agent_id: int, timeout: float) -> bool:
        """True when the agent's rings changed within ``timeout`` seconds."""
        return await self.bus.wait(agent_topic(agent_id), timeout)

    def touch_visitor(self, chat: Chat) -> None:
        """Every visitor request to a chat keeps it alive (server spec §7.3); a follower passes
        it on to the leader, whose timers decide."""
        if chat.active:
            chat.last_update_ms = self.clock()
            if self.replica and self.cluster is not None:
                self.cluster.touched(chat.id)

    async def end(self, chat: Chat, reason_line: int | None, request_key: str | None = None) -> None:
        """End a chat (idempotent); hold the chat's lock."""
        drafts = ending(chat, reason_line)
        if drafts:
            await self.append(chat, drafts, request_key, state=ENDED)

    def route(self) -> None:
        if not self.replica:
            self.queue.route(self.clock())

    # -- staffing ------------------------------------------------------------------------

    async def set_availability(self, agent_id: int, availability: str) -> None:
        """Away or Occupied withdraws the agent's rings: they go to the next agent."""
        await self.store.save_availability(agent_id, availability)
        self.presence.availability[agent_id] = availability
        if availability != ONLINE:
            self.queue.withdraw_rings_of(agent_id)
        self.route()

    async def close_agent_sessions(self, closed: list[AgentSession]) -> None:
        """When a user's last session ends: rings go elsewhere, chats are requeued or ended (§4.6)."""
        for session in closed:
            self.presence.remove_session(session)
        if closed:
            await self.store.close_agent_sessions([s.id for s in closed], self.clock())
        for agent_id in {s.agent_id for s in closed}:
            if not self.presence.logged_in(agent_id):  # another device of the user carries on
                await self._release(agent_id)
        self.route()

    async def _release(self, agent_id: int) -> None:
        """An agent without any live session: its rings go elsewhere, its chats are requeued
        (system line 23) if another logged-in agent could take them, else ended (line 6)."""
        self.queue.withdraw_rings_of(agent_id)
        for chat_id in list(self.queue.assigned.get(agent_id, ())):
            chat = self.chats[chat_id]
            async with self.lock(chat_id):
                if not chat.active or chat.agent_id != agent_id:
                    continue
                if self.queue.able_agents(chat.account_id, chat.skill_id, None):
                    # A direct or transferred-to-agent chat now goes to its skill's queue.
                    await self.append(
                        chat,
                        [system_line(messages.REQUEUED), state_event(WAITING)],
                        state=WAITING,
                        agent_id=None,
                        agent_typing=Typing(),
                        routing=chat.routing.requeued_to_skill(),
                        agent_key=new_agent_key(),
                    )
                else:
                    await self.end(chat, messages.DISCONNECTED)

    # -- lookups -------------------------------------------------------------------------

    def chat(self, account_id: str, chat_id: str) -> Chat:
        """A chat of this account that is open or still retained after its end."""
        chat = self.chats.get(chat_id)
        if chat is None or chat.account_id != account_id or self.expired(chat, self.clock()):
            raise NotFound()
        return chat

    def assigned_chat(self, account_id: str, agent_key: str) -> Chat:
        """The chat an agent-side URI names by its assignment's key (never by the visitor's chat id)."""
        chat = self.chats.get(self.agent_keys.get(agent_key, ""))
        if chat is None or chat.agent_key != agent_key:
            raise NotFound()
        return self.chat(account_id, chat.id)

    def forget_expired(self) -> None:
        now = self.clock()
        for chat in [c for c in self.chats.values() if self.expired(c, now)]:
            self.forget_chat(chat)
        self.forget_old_keys(now)

    def forget_chat(self, chat: Chat) -> None:
        """Drop an ended chat past retention from memory (the store keeps it)."""
        self.chats.pop(chat.id, None)
        self.agent_keys.pop(chat.agent_key, None)
        self.forget_lock(chat.id)

    def expired(self, chat: Chat, now_ms: int) -> bool:
        return chat.ended_ms is not None and now_ms - chat.ended_ms > self.settings.ended_retention * 1000

    # -- timers ----------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            try:
                await self.sweep()
            except Exception:  # a failed sweep must not stop the next one
                log.exception("sweep failed")

    async def sweep(self) -> None:
        await timers.sweep(self)
