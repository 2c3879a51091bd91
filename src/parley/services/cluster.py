"""Many nodes on one store: one leader changes state, every node answers visitors' reads.

Why one writer. The contact centre's rules are decisions over all open chats at once: first in,
first out within a priority across a skill's queue, an agent's slots counting unanswered rings,
an accept granted exactly once, each timer firing once. One node making them all, from one
in-memory view, keeps every rule exactly as in the embedded mode (and tested by the same
suite); the store and a leadership lock make that node replaceable. What the other nodes take
off it is what dominates load: every visitor polls every couple of seconds and holds long-polls
and event streams, and those are answered from each node's own view without touching the store.
Everything else a follower receives goes to the leader over the node link (``http/relay.py``).

Leadership is a lock in the store (PostgreSQL: an advisory lock held by the leader's
connection, released by the server the moment that connection dies), not per-row claims:
routing needs one decider anyway, and a lock needs no clock agreement between machines. Each
term writes a new epoch that the leader's write transactions check, so a node that lost the
lock can no longer commit anything (it stops itself at its first refused write).

A follower keeps its view current from the bus (news of a chat's new version, carrying what the
commit changed: a follower exactly one version behind applies it, any other reads the chat from
the store; then it wakes its waiting requests) and, while the bus is unreachable, by
reading the versions of the open chats from the store every ``FALLBACK_SECONDS``. Asked for more
than its view holds (an unknown chat, ``from=`` past its last event), it reads the store first,
so a client that wrote through one node reads its write through any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson

from parley.bus import DIRECTORY_TOPIC, chat_topic
from parley.domain.chat import Chat, Event
from parley.store.rows import chat_from_row, chat_row, event_from_row, event_row

if TYPE_CHECKING:
    from parley.services.engine import Engine

log = logging.getLogger("parley.cluster")

# A follower tries to take the lead this often; a dead leader is replaced within about this
# long after the store notices its connection is gone.
ELECTION_SECONDS = 1.0
# Without the bus, a follower reads the open chats' versions this often (wake-ups slow to this).
FALLBACK_SECONDS = 1.0
# A change bigger than this goes as plain news (followers read it from the store): it bounds
# what one commit puts on the bus. Lines are far smaller; a chat's first commit with a long
# pre-chat survey may not be.
MAX_CHANGE_BYTES = 64 * 1024
# Visitor activity seen by a follower reaches the leader this often: far below any chat timeout
# (seconds to minutes), so a visitor polling a follower is never taken for silent.
TOUCH_SECONDS = 2.0


class Cluster:
    def __init__(
        self,
        engine: Engine,
        *,
        lead: Callable[[str], Awaitable[str]],
        stop_leading: Callable[[], Awaitable[None]],
        touch_leader: Callable[[list[str]], Awaitable[None]],
        bus_connected: Callable[[], bool],
        leader_answers: Callable[[], Awaitable[bool]],
    ) -> None:
        """``lead(secret)`` starts the node link and returns its address; ``touch_leader`` tells the leader
        which chats had visitor requests here; ``bus_connected`` whether news arrives now."""
        self.engine = engine
        self.leading = False
        self.secret = secrets.token_urlsafe(24)
        self._lead = lead
        self._stop_leading = stop_leading
        self._touch_leader = touch_leader
        self._bus_connected = bus_connected
        self._leader_answers = leader_answers
        self._touched: set[str] = set()
        self._tasks: list[asyncio.Task] = []
        # A follower's catch-ups: changes applied from the bus, and chats read from the store
        # (/metrics; the second stays near zero while the bus carries every change).
        self.changes_applied = 0
        self.store_reads = 0

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        engine = self.engine
        engine.cluster = self
        await engine.open()
        await engine.bus.start(await engine.store.identity())
        if await self._try_lead():
            self._tasks = [asyncio.create_task(self._watch_lead_forever())]
            return
        await engine.load(replica=True)
        self._tasks = [
            asyncio.create_task(self._elect_forever()),
            asyncio.create_task(self._follow_forever()),
            asyncio.create_task(self._report_forever()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.leading:
            await self._stop_leading()
        await self.engine.stop()
        await self.engine.bus.stop()

    async def _try_lead(self) -> bool:
        """Lock, then load the whole state, then open the node link and say where it is: no
        follower hands a request to this node before it can answer it."""
        store = self.engine.store
        if not await store.lead():
            return False
        log.info("this node leads the cluster")
        await self.engine.load(replica=False)
        self.leading = True  # from now on this node answers every request itself
        await store.announce(await self._lead(self.secret), self.secret)
        return True

    async def _elect_forever(self) -> None:
        while True:
            await asyncio.sleep(ELECTION_SECONDS)
            try:
                # A leader that still answers keeps the lead through a store outage: it takes
                # its lock again itself (``leading``) rather than being replaced.
                if await self._leader_answers() or not await self._try_lead():
                    continue
            except Exception as exc:
                log.info("taking the lead failed: %s", exc)
                continue
            for task in self._tasks:
                if task is not asyncio.current_task():
                    task.cancel()
            self._tasks = [asyncio.create_task(self._watch_lead_forever())]
            return

    async def _watch_lead_forever(self) -> None:
        while True:
            await asyncio.sleep(ELECTION_SECONDS)
            try:
                still = await self.engine.store.leading()
            except Exception as exc:  # the store is unreachable: nobody else can lead meanwhile either
                log.debug("leadership check failed: %s", exc)
                continue
            if not still:
                self.lost_lead()

    def lost_lead(self) -> None:
        """Another node leads now (a write was refused by the epoch check): this node must not
        act on state it can no longer commit. The process stops; its supervisor starts it as a
        follower (a node never goes back from leading to following in place)."""
        log.critical("leadership lost; stopping this node")
        os._exit(3)

    async def leader_known(self) -> bool:
        return await self._leader_answers()

    # -- a follower's view -----------------------------------------------------------------

    def touched(self, chat_id: str) -> None:
        self._touched.add(chat_id)

    def on_touch(self, chat_ids: list[str]) -> None:
        """At the leader: visitor requests to these chats reached a follower."""
        for chat_id in chat_ids:
            chat = self.engine.chats.get(chat_id) if isinstance(chat_id, str) else None
            if chat is not None:
                self.engine.touch_visitor(chat)

    def change(self, chat: Chat, events: list[Event]) -> bytes | None:
        """At the leader: what one commit of ``chat`` changed, for the bus (the row as the store
        now holds it, and the events the commit appended); None when too big to send."""
        if not self.leading:
            return None
        change = orjson.dumps(
            {
                "row": chat_row(chat),
                "events": [event_row(event) for event in events],
                "whole": len(events) == len(chat.events),
            }
        )
        return change if len(change) <= MAX_CHANGE_BYTES else None

    def _apply(self, chat_id: str, version: int | None, change: bytes) -> bool:
        """Applies a change heard on the bus when the view is exactly one version behind (or lacks
        the chat and the change is all of it); False when the store must be read instead."""
        chat = self.engine.chats.get(chat_id)
        try:
            news = orjson.loads(change)
            whole = news["whole"] is True
            if version is None or (chat is None and not whole) or (chat is not None and chat.version != version - 1):
                return False
            stored = chat_from_row(news["row"])
            stored.events = [event_from_row(row) for row in news["events"]]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            log.warning("a change on the bus could not be read; reading the store")
            return False
        if stored.id != chat_id or stored.version != version:
            return False
        self.engine.absorb(stored)
        self.changes_applied += 1
        return True

    async def news(self, topic: str, version: int | None, change: bytes | None = None) -> None:
        """The bus says a chat changed: bring the view up to date before waking anyone."""
        if self.leading:
            return
        if topic == DIRECTORY_TOPIC:  # an admin change through the leader: keys, agents, skills
            await self.engine.reload_directory()
            return
        if not topic.startswith("chat:"):
            return
        chat_id = topic[5:]
        chat = self.engine.chats.get(chat_id)
        if chat is not None and version is not None and chat.version >= version:
            return
        if change is not None and self._apply(chat_id, version, change):
            return
        await self.engine.catch_up(chat_id)

    async def reconnected(self) -> None:
        if not self.leading:
            await self._compare_versions()

    async def _compare_versions(self) -> None:
        engine = self.engine
        versions = await engine.store.chat_versions(engine.clock() - engine.settings.ended_retention * 1000)
        for chat_id, version in versions.items():
            chat = engine.chats.get(chat_id)
            if chat is None or chat.version < version:
                await engine.catch_up(chat_id)
                engine.bus.publish(chat_topic(chat_id))

    async def _follow_forever(self) -> None:
        while True:
            await asyncio.sleep(FALLBACK_SECONDS)
            try:
                if not self._bus_connected():
                    await self._compare_versions()
                await self.engine.reload_directory_if_changed()
                self.engine.forget_expired()
            except Exception:
                log.exception("following the store failed")

    async def _report_forever(self) -> None:
        while True:
            await asyncio.sleep(TOUCH_SECONDS)
            # A held long-poll or stream is activity for as long as it is held.
            touched, self._touched = self._touched | set(self.engine.holders), set()
            if not touched:
                continue
            try:
                await self._touch_leader(sorted(touched))
            except Exception as exc:
                self._touched |= touched  # told next time
                log.debug("telling the leader about visitor activity failed: %s", exc)
