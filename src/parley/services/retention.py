"""Retention and erasure: deleting chats an account keeps no longer, and everything about one visitor.

The sweep: each account with ``retentionDays`` set loses its chats that ended more than that many
days ago (with their events, survey answers, transcript requests and the mail about them) and its
offline messages left that long ago. It runs on the leader as a background worker every
``retention_sweep_interval`` seconds, and from ``parley retention sweep``; either deletes in batches
of ``SWEEP_BATCH`` chats, one short transaction each, so the store's writer is never held long.

The erasure: every chat of one visitor with all its rows, the participant records (V8) those chats
named, and the visitor. Through the admin API it runs on the leader, which first ends the visitor's
open chats as a visitor leaving would (so agents see the chat end and their slot free), then
deletes. ``parley erase`` works on the store without a server's view: it refuses while the
visitor has a chat in progress, since a running server holds that chat.

Either way a running server drops the deleted chats from its view: the node that deleted them at
once, every other node (and a server beside the CLI) when it notices the store's change counter,
within a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from parley.domain.refusals import Conflict, Invalid, NotFound
from parley.services.engine import Engine
from parley.services.tally import tally
from parley.store.protocol import Removal, Store

log = logging.getLogger("parley.retention")

DAY_MS = 24 * 3600 * 1000
# Chats per sweep transaction: with their events, a few thousand rows. A write queued while a
# batch commits waits for it (group commit), so a batch is kept to a fraction of a second, and
# after each the sweep pauses as long as the batch took: it never has the writer more than half
# the time, and requests' writes get transactions of their own in between (bench/retention_sweep.py).
SWEEP_BATCH = 200
MAX_PAUSE_S = 1.0
# retentionDays: at least a day (the live API keeps ended chats an hour), at most a hundred years.
MIN_DAYS, MAX_DAYS = 1, 36500


def check_days(value: int | None) -> int | None:
    """The setting as stored: None (or 0) keeps chats forever."""
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_DAYS <= value <= MAX_DAYS:
        raise Invalid(f"retentionDays is {MIN_DAYS} to {MAX_DAYS} days, or 0 or null to keep chats forever")
    return value


async def sweep(
    store: Store,
    now_ms: int,
    account_id: str | None = None,
    *,
    dry_run: bool = False,
    batch: int = SWEEP_BATCH,
    deleted: Callable[[Removal], None] | None = None,
) -> dict[str, Removal]:
    """Per account with a retention (or only ``account_id``), what was deleted (``dry_run``: what
    would be). ``deleted`` sees each batch as it commits (the engine drops its chats from memory)."""
    accounts = (await store.load_directory()).accounts
    if account_id is not None:
        if account_id not in accounts:
            raise NotFound(f"no account {account_id}")
        if accounts[account_id].retention_days is None:
            raise Invalid(f"account {account_id} keeps its chats forever (no retentionDays set)")
    results: dict[str, Removal] = {}
    for account in sorted(accounts.values(), key=lambda a: a.id):
        if account.retention_days is None or account_id not in (None, account.id):
            continue
        cutoff = now_ms - account.retention_days * DAY_MS
        if dry_run:
            results[account.id] = await store.retention.count_expired(account.id, cutoff)
            continue
        total = Removal()
        while True:
            started = time.monotonic()
            removal = await store.retention.sweep(account.id, cutoff, batch)
            total.add(removal)
            if deleted is not None:
                deleted(removal)
            if removal.chats < batch and removal.submissions < batch:
                break
            await asyncio.sleep(min(MAX_PAUSE_S, time.monotonic() - started))  # the writer is the requests' now
        total.chat_ids = []  # the batches' ids served ``deleted``; a result is counts
        results[account.id] = total
    return results


def describe(results: dict[str, Removal], dry_run: bool) -> str:
    """One line per account, as ``parley retention sweep`` prints and the worker logs."""
    verb = "would delete" if dry_run else "deleted"
    lines = []
    for account_id, removal in results.items():
        counts = ", ".join(f"{value} {name}" for name, value in removal.counts().items() if name in _SWEPT)
        lines.append(f"account {account_id}: {verb} {counts}")
    return "\n".join(lines) or "no account has a retention set (retentionDays)"


_SWEPT = ("chats", "events", "submissions", "transcripts", "mails", "webhooks")


async def erase_stored(store: Store, account_id: str, visitor_id: int, *, dry_run: bool = False) -> Removal:
    """Everything about one visitor, deleted from the store (``dry_run``: counted). Refused while
    one of the visitor's chats is open (the CLI: no server's view to end it in)."""
    await _known(store, account_id, visitor_id)
    if dry_run:
        return await store.retention.count_visitor(account_id, visitor_id)
    return await store.retention.erase_visitor(account_id, visitor_id)


async def _known(store: Store, account_id: str, visitor_id: int) -> Removal:
    if account_id not in (await store.load_directory()).accounts:
        raise NotFound(f"no account {account_id}")
    if isinstance(visitor_id, bool) or not isinstance(visitor_id, int) or visitor_id < 1:
        raise Invalid("a visitor id is a positive integer")
    found = await store.retention.count_visitor(account_id, visitor_id)
    if not found.chats and not found.visitors:
        raise NotFound(f"no visitor {visitor_id} in account {account_id}")
    return found


class Retention:
    """The running server's side: the leader's sweep worker and the admin API's erasure."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def run(self) -> None:
        """The worker (``engine.add_worker``): runs on the leader only, like every worker."""
        while True:
            await asyncio.sleep(self.engine.settings.retention_sweep_interval)
            try:
                await self.sweep()
            except Exception:  # a failed pass must not stop the next; what it deleted stays deleted
                log.exception("retention sweep failed")

    async def sweep(self) -> dict[str, Removal]:
        results = await sweep(self.engine.store, self.engine.clock(), deleted=self._swept)
        for account_id, removal in results.items():
            if removal.chats or removal.submissions:
                log.info("retention: %s", describe({account_id: removal}, dry_run=False))
        return results

    async def erase(self, account_id: str, visitor_id: int, *, dry_run: bool = False) -> Removal:
        engine = self.engine
        found = await _known(engine.store, account_id, visitor_id)
        if dry_run:
            return found
        for _ in range(3):  # a chat the visitor opens between the end and the delete: end that too
            await self._end_open_chats(account_id, visitor_id)
            # Out of the view before the delete: a request that finds the chat no more writes nothing
            # about it (an exit survey, a transcript request) that the delete would miss.
            engine.forget_deleted(
                [c.id for c in engine.chats.values() if c.account_id == account_id and c.visitor_id == visitor_id]
            )
            try:
                removal = await engine.store.retention.erase_visitor(account_id, visitor_id)
            except Conflict:
                continue
            engine.forget_deleted(removal.chat_ids)
            tally(engine).erasures += 1
            log.info(
                "erased visitor %s of account %s: %s",
                visitor_id,
                account_id,
                ", ".join(f"{value} {name}" for name, value in removal.counts().items()),
            )
            return removal
        raise Conflict(f"visitor {visitor_id} keeps opening chats: try again")

    async def _end_open_chats(self, account_id: str, visitor_id: int) -> None:
        engine = self.engine
        for chat in [
            c for c in engine.chats.values() if c.account_id == account_id and c.visitor_id == visitor_id and c.active
        ]:
            async with engine.lock(chat.id):
                await engine.end(chat, None)  # as a visitor leaving: no system line

    def _swept(self, removal: Removal) -> None:
        self.engine.forget_deleted(removal.chat_ids)
        counts = tally(self.engine)
        counts.retention_chats += removal.chats
        counts.retention_events += removal.events
        counts.retention_submissions += removal.submissions
