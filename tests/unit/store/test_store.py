"""The store's contract, checked on every backend (``[sqlite]``, ``[postgres]``: see conftest)."""

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from parley.domain.account import Account, Agent
from parley.domain.chat import CHATTING, ENDED, WAITING, Chat, Event
from parley.domain.ids import digest, new_chat_id
from parley.domain.session import LoginSession
from parley.store import is_postgres, open_store
from tests.unit.store.conftest import raw

T0 = 1_705_320_000_000


async def given_account(store, account_id: str = "1234") -> str:
    await store.create_account(Account(account_id, "Acme", "Asia/Kolkata"))
    return account_id


def a_chat(account_id: str = "1234", rt: int = 4294967297, **changes) -> Chat:
    values = dict(
        id=new_chat_id(),
        account_id=account_id,
        rt_session_id=rt,
        visitor_id=111_222_333_444_555,
        start_ms=T0,
        chat_timeout=40,
    )
    values.update(changes)
    return Chat(**values)


def opening_events(time_ms: int = T0) -> list[Event]:
    return [
        Event(0, "state", time_ms, {"state": "waiting"}),
        Event(1, "line", time_ms, {"textType": "plain", "text": "Thank you", "systemMessageId": 4}),
        Event(2, "line", time_ms, {"text": "pre-chat", "subType": "ONLY_TO_REP"}, agents_only=True),
    ]


async def test_inserted_chat_loads_back_with_its_fields_and_events(store):
    account_id = await given_account(store)
    chat = a_chat(
        account_id,
        skill_id=None,
        visitor_name=None,
        details={"engagementId": 7, "language": "en-US"},
        custom_variables=[{"name": "cart", "value": "3"}],
    )
    await store.insert_chat(chat, opening_events(), new_visitor=True)

    (loaded,) = await store.load_chats(ended_after_ms=0)
    assert (loaded.id, loaded.account_id, loaded.rt_session_id, loaded.visitor_id) == (
        chat.id,
        account_id,
        4294967297,
        111_222_333_444_555,
    )
    assert (loaded.state, loaded.start_ms, loaded.chat_timeout) == (WAITING, T0, 40)
    assert loaded.details == {"engagementId": 7, "language": "en-US"}
    assert loaded.custom_variables == [{"name": "cart", "value": "3"}]
    assert [(e.id, e.type, e.agents_only) for e in loaded.events] == [
        (0, "state", False),
        (1, "line", False),
        (2, "line", True),
    ]
    assert loaded.events[1].fields == {"textType": "plain", "text": "Thank you", "systemMessageId": 4}
    assert loaded.next_event_id == 3


async def test_save_chat_appends_events_densely_and_updates_the_row(store):
    account_id = await given_account(store)
    chat = a_chat(account_id)
    chat.events = opening_events()
    await store.insert_chat(chat, chat.events, new_visitor=True)

    chat.state, chat.agent_id, chat.chatting_ms, chat.visitor_name = CHATTING, 9, T0 + 5_000, "Joe"
    accepted = [Event(3, "state", T0 + 5_000, {"state": "chatting"}), Event(4, "line", T0 + 5_000, {"text": "hi"})]
    await store.save_chat(chat, accepted)
    chat.events.extend(accepted)
    more = [Event(5, "line", T0 + 6_000, {"text": "ünïcode ✓"})]
    await store.save_chat(chat, more)

    (loaded,) = await store.load_chats(ended_after_ms=0)
    assert [e.id for e in loaded.events] == [0, 1, 2, 3, 4, 5]
    assert loaded.events[5].fields == {"text": "ünïcode ✓"}
    assert loaded.events[5].time_ms == T0 + 6_000
    assert (loaded.state, loaded.agent_id, loaded.chatting_ms, loaded.visitor_name) == (CHATTING, 9, T0 + 5_000, "Joe")


async def test_agent_key_and_requester_are_stored_and_a_new_key_replaces_the_old(store, database_url):
    account_id = await given_account(store)
    chat = a_chat(account_id, requester_agent_id=9)
    first_key = chat.agent_key
    chat.events = opening_events()
    await store.insert_chat(chat, chat.events, new_visitor=True)
    (loaded,) = await store.load_chats(ended_after_ms=0)
    assert (loaded.agent_key, loaded.requester_agent_id) == (first_key, 9)
    chat.agent_key = new_chat_id()
    await store.save_chat(chat, [])
    (loaded,) = await store.load_chats(ended_after_ms=0)
    assert loaded.agent_key == chat.agent_key != first_key
    # Looked up by key on the agent side: unique and indexed.
    assert await raw(database_url, "SELECT COUNT(*) FROM chats WHERE agent_key = $1", first_key) == [(0,)]
    if is_postgres(database_url):
        ((definition,),) = await raw(
            database_url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'chats_agent_key'"
        )
        assert "UNIQUE" in definition and "(agent_key)" in definition
    else:
        plan = await raw(database_url, "EXPLAIN QUERY PLAN SELECT id FROM chats WHERE agent_key = $1", "x")
        assert "chats_agent_key" in str(plan)


async def test_next_event_id_column_follows_the_log(store, database_url):
    account_id = await given_account(store)
    chat = a_chat(account_id)
    chat.events = opening_events()
    await store.insert_chat(chat, chat.events, new_visitor=True)
    await store.save_chat(chat, [Event(3, "line", T0, {"text": "x"})])
    assert await raw(database_url, "SELECT next_event_id FROM chats WHERE id = $1", chat.id) == [(4,)]


async def test_a_duplicate_event_id_is_refused_and_changes_nothing(store):
    account_id = await given_account(store)
    chat = a_chat(account_id)
    chat.events = opening_events()
    await store.insert_chat(chat, chat.events, new_visitor=True)
    chat.state = ENDED
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await store.save_chat(chat, [Event(1, "state", T0, {"state": "ended"})])
    (loaded,) = await store.load_chats(ended_after_ms=0)
    assert loaded.state == WAITING  # the row update went with the failed append
    assert len(loaded.events) == 3


async def test_ended_chats_past_retention_are_not_loaded(store):
    account_id = await given_account(store)
    old = a_chat(account_id, rt=1, state=ENDED, ended_ms=T0 - 7_200_000)
    recent = a_chat(account_id, rt=2, state=ENDED, ended_ms=T0 - 60_000)
    open_chat = a_chat(account_id, rt=3)
    for chat in (old, recent, open_chat):
        await store.insert_chat(chat, opening_events(), new_visitor=True)

    loaded = await store.load_chats(ended_after_ms=T0 - 3_600_000)
    assert {c.id for c in loaded} == {recent.id, open_chat.id}
    assert all(len(c.events) == 3 for c in loaded)


async def test_loading_live_chats_does_not_read_the_history(db_path):
    """A start reads the open and recently ended chats, not every chat and event ever stored:
    the SQLite instructions load_chats runs stay the same with 1,500 old chats beside the live
    ones (a scan of the history grows with it; issue 12's start time). SQLite only: it counts
    SQLite's virtual machine steps."""
    store = open_store(db_path)
    await store.open()
    account_id = await given_account(store)
    live = [a_chat(account_id, rt=1), a_chat(account_id, rt=2, state=ENDED, ended_ms=T0 - 60_000)]
    for chat in live:
        await store.insert_chat(chat, opening_events(), new_visitor=True)

    async def instructions() -> int:
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        await store.read(lambda db: db.set_progress_handler(count, 1))
        loaded = await store.load_chats(ended_after_ms=T0 - 3_600_000)
        await store.read(lambda db: db.set_progress_handler(None, 1))
        assert {c.id for c in loaded} == {c.id for c in live}
        return steps

    before = await instructions()
    old = [a_chat(account_id, rt=10 + n, state=ENDED, ended_ms=T0 - 7_200_000) for n in range(1500)]
    await asyncio.gather(*(store.insert_chat(chat, opening_events(), new_visitor=False) for chat in old))
    after = await instructions()
    await store.close()
    assert after < before * 1.5, (before, after)


async def test_routing_round_trips_and_reads_stores_written_before_it_had_a_type(store, database_url):
    from parley.domain.chat import Routing

    account_id = await given_account(store)
    routed = a_chat(
        account_id,
        rt=1,
        details={"language": "en-US"},
        routing=Routing(priority=3, direct_agent_id=9, transfer_target=9, max_wait_seconds=60, transferred=True),
    )
    plain = a_chat(account_id, rt=2, details={"language": "en-US"})
    for chat in (routed, plain):
        await store.insert_chat(chat, opening_events(), new_visitor=True)
    # A row as earlier versions wrote it: the hints among the details, under the request's names.
    legacy = a_chat(account_id, rt=3)
    await store.insert_chat(legacy, opening_events(), new_visitor=True)
    await raw(
        database_url,
        "UPDATE chats SET details = $1 WHERE id = $2",
        '{"queuePriority": 2, "maxWaitTime": 30, "requeued": true, "language": "fr"}',
        legacy.id,
    )

    by_id = {c.id: c for c in await store.load_chats(ended_after_ms=0)}
    assert by_id[routed.id].routing == routed.routing
    assert by_id[plain.id].routing == Routing()
    assert by_id[legacy.id].routing == Routing(priority=2, max_wait_seconds=30, requeued=True)
    assert {c.details["language"] for c in by_id.values()} == {"en-US", "fr"}
    assert all(set(c.details) == {"language"} for c in by_id.values())


async def test_events_stay_with_their_own_chat(store):
    account_id = await given_account(store)
    first, second = a_chat(account_id, rt=1), a_chat(account_id, rt=2)
    await store.insert_chat(first, opening_events(), new_visitor=True)
    await store.insert_chat(second, opening_events()[:2], new_visitor=False)
    by_id = {c.id: c for c in await store.load_chats(ended_after_ms=0)}
    assert len(by_id[first.id].events) == 3
    assert len(by_id[second.id].events) == 2


async def test_known_visitor_after_a_first_chat(store):
    account_id = await given_account(store)
    chat = a_chat(account_id, visitor_id=42)
    assert not await store.known_visitor(account_id, 42)
    await store.insert_chat(chat, [], new_visitor=True)
    assert await store.known_visitor(account_id, 42)
    assert not await store.known_visitor("other", 42)


async def test_max_rt_session_id(store):
    account_id = await given_account(store)
    assert await store.max_rt_session_id() == 0
    await store.insert_chat(a_chat(account_id, rt=4294967300), [], new_visitor=True)
    await store.insert_chat(a_chat(account_id, rt=4294967299), [], new_visitor=True)
    assert await store.max_rt_session_id() == 4294967300


# -- directory ------------------------------------------------------------------------------


async def test_directory_loads_accounts_keys_skills_and_agents(store):
    account_id = await given_account(store)
    await store.add_app_key(account_id, digest("secret-key"))
    sales = await store.create_skill(account_id, "Sales")
    support = await store.create_skill(account_id, "Support")
    agent_id = await store.create_agent(
        Agent(
            id=0,
            account_id=account_id,
            login="natalie",
            password_hash="h",
            nickname="Nat",
            display_name="Natalie N",
            email="n@example.com",
            privilege_group="administrators",
            max_chats=-1,
            skill_ids=[support, sales],
        )
    )

    directory = await store.load_directory()
    assert directory.accounts[account_id].timezone == "Asia/Kolkata"
    assert directory.key_digests == {digest("secret-key"): account_id}
    assert {s.name for s in directory.skills.values()} == {"Sales", "Support"}
    agent = directory.agents[agent_id]
    assert (agent.login, agent.nickname, agent.display_name, agent.email) == (
        "natalie",
        "Nat",
        "Natalie N",
        "n@example.com",
    )
    assert (agent.privilege_group, agent.max_chats, agent.enabled) == ("administrators", -1, True)
    assert sorted(agent.skill_ids) == sorted([sales, support])
    assert directory.availability[agent_id] == "Online"


async def test_saved_availability_is_loaded(store):
    account_id = await given_account(store)
    agent_id = await store.create_agent(
        Agent(id=0, account_id=account_id, login="a", password_hash="h", nickname="A", display_name="A")
    )
    await store.save_availability(agent_id, "Away")
    assert (await store.load_directory()).availability[agent_id] == "Away"


async def test_app_key_is_stored_only_as_a_digest(store, database_url):
    account_id = await given_account(store)
    await store.add_app_key(account_id, digest("plain-secret"))
    if is_postgres(database_url):  # no file to read: every column of the table, as stored
        rows = await raw(database_url, "SELECT app_keys::text FROM app_keys")
        assert len(rows) == 1 and digest("plain-secret") in rows[0][0] and "plain-secret" not in str(rows)
        return
    db_path = database_url
    files = list(Path(db_path).parent.glob(Path(db_path).name + "*"))  # the database and its WAL
    assert files
    assert all(b"plain-secret" not in f.read_bytes() for f in files)


async def test_change_counter_moves_when_another_connection_writes(store, database_url):
    before = await store.change_counter()
    other = open_store(database_url)
    await other.open()
    await other.create_account(Account("9999", "Other"))
    await other.close()
    assert await store.change_counter() != before
    assert "9999" in (await store.load_directory()).accounts


async def test_change_counter_is_stable_without_outside_writes(store):
    before = await store.change_counter()
    assert await store.change_counter() == before


async def test_chat_traffic_does_not_move_the_change_counter(store):
    """The counter says "configuration changed, reload the directory": chats, events, logins and
    the outbox must not move it, or every sweep would reload for nothing."""
    account_id = await given_account(store)
    agent_id = await store.create_agent(
        Agent(id=0, account_id=account_id, login="a", password_hash="h", nickname="A", display_name="A")
    )
    before = await store.change_counter()
    chat = a_chat(account_id)
    chat.events = opening_events()
    await store.insert_chat(chat, chat.events, new_visitor=True)
    await store.save_chat(chat, [Event(3, "line", T0, {"text": "x"})])
    await store.insert_login(LoginSession("l1", account_id, agent_id, "digest", "csrf", T0 + 1000))
    assert await store.change_counter() == before
