"""The webhook records on every backend: deliveries are inserted by the change's own transaction
(none for a change that did not commit), only for active subscriptions that asked for the kind,
and each chat's next delivery is offered only once the one before it is done."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from parley.domain.chat import Event
from parley.domain.webhooks import KINDS
from tests.unit.store.test_store import T0, a_chat, given_account, opening_events


async def test_deliveries_follow_subscriptions_kinds_and_commits(store):
    account = await given_account(store)
    await given_account(store, "999")
    everything = await store.webhooks.create(account, "http://127.0.0.1:1/a", KINDS, "whsec_a", T0)
    ends = await store.webhooks.create(account, "http://127.0.0.1:1/b", ("chat.ended",), "whsec_b", T0)
    off = await store.webhooks.create(account, "http://127.0.0.1:1/c", KINDS, "whsec_c", T0)
    hook = await store.webhooks.get(account, off)
    await store.webhooks.update(type(hook)(**{**hook.__dict__, "active": False}))
    await store.webhooks.create("999", "http://127.0.0.1:1/d", KINDS, "whsec_d", T0)  # another account's

    chat = a_chat(account)
    await store.insert_chat(chat, opening_events(), new_visitor=True)
    chat.events.extend(opening_events())
    line = Event(3, "line", T0 + 1, {"source": "visitor", "text": "hi"})
    chat.state = "ended"
    await store.save_chat(chat, [line, Event(4, "state", T0 + 2, {"state": "ended"})])

    # Order is kept per subscription and chat: each subscription's first delivery of the chat is offered.
    heads = await store.webhooks.heads(10)
    assert [(h.delivery.hook_id, h.delivery.kind) for h in heads] == [
        (everything, "chat.requested"),
        (ends, "chat.ended"),
    ]
    assert (heads[0].url, heads[0].secret) == ("http://127.0.0.1:1/a", "whsec_a")
    log = await store.webhooks.deliveries(everything, None, 10)
    assert [d.kind for d in reversed(log)] == ["chat.requested", "chat.line", "chat.ended"]
    assert [d.kind for d in await store.webhooks.deliveries(ends, None, 10)] == ["chat.ended"]
    assert await store.webhooks.deliveries(off, None, 10) == []

    # A change that does not commit (its event id is taken) leaves no delivery behind.
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await store.save_chat(chat, [Event(3, "line", T0 + 3, {"source": "agent", "text": "lost"})])
    assert len(await store.webhooks.deliveries(everything, None, 10)) == 3

    # Order per chat: the second is offered once the first is done (delivered or failed).
    first = heads[0].delivery
    await store.webhooks.mark_retry(first.id, 1, T0 + 10, T0 + 1000, 500, "the receiver answered 500")
    heads = await store.webhooks.heads(10)  # earliest next attempt first
    assert [(h.delivery.kind, h.delivery.next_attempt_ms, h.delivery.attempts) for h in heads] == [
        ("chat.ended", T0 + 2, 0),
        ("chat.requested", T0 + 1000, 1),
    ]
    await store.webhooks.mark_delivered(first.id, 2, T0 + 1000, 200)
    second = [h for h in await store.webhooks.heads(10) if h.delivery.hook_id == everything]
    assert [h.delivery.kind for h in second] == ["chat.line"]
    await store.webhooks.mark_failed(second[0].delivery.id, 99, T0 + 2000, None, "ConnectError")
    third = [h for h in await store.webhooks.heads(10) if h.delivery.hook_id == everything]
    assert [h.delivery.kind for h in third] == ["chat.ended"]
    assert len(await store.webhooks.heads(1)) == 1  # the limit holds
    done = {d.kind: d for d in await store.webhooks.deliveries(everything, None, 10)}
    assert (done["chat.requested"].status, done["chat.requested"].response_code) == ("delivered", 200)
    assert (done["chat.line"].status, done["chat.line"].last_error) == ("failed", "ConnectError")

    # The log forgets what was done before a time; pending deliveries stay whatever their age.
    assert await store.webhooks.prune(T0 + 1000) == 0
    assert await store.webhooks.prune(T0 + 1001) == 1  # the one delivered at T0 + 1000
    assert [d.kind for d in await store.webhooks.deliveries(everything, None, 10)] == ["chat.ended", "chat.line"]
    assert await store.webhooks.prune(T0 + 10**9) == 1  # the failed one; chat.ended is still pending

    # Paged newest first; deleting a subscription takes its log along.
    chat.events.extend([line, Event(4, "state", T0 + 2, {"state": "ended"})])
    await store.save_chat(chat, [Event(5, "line", T0 + 3, {"source": "visitor", "text": "again"})])
    page = await store.webhooks.deliveries(everything, None, 1)
    assert [d.kind for d in page] == ["chat.line"]
    assert [d.kind for d in await store.webhooks.deliveries(everything, page[-1].id, 2)] == ["chat.ended"]
    assert await store.webhooks.delete(account, everything) is True
    assert await store.webhooks.delete(account, everything) is False
    assert await store.webhooks.delete("999", ends) is False  # not that account's
    assert await store.webhooks.deliveries(everything, None, 10) == []
    assert [h.id for h in await store.webhooks.for_account(account)] == [ends, off]
