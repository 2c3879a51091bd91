"""The history records on both stores: the text index follows inserts AND deletes of events (the
retention and erasure sweeps delete rows and rely on it), the migration indexes rows stored
before it, and keyset pages cover every chat once."""

from __future__ import annotations

from parley.domain.account import Account
from parley.domain.chat import Chat, Event
from parley.domain.history import ChatQuery, Position
from parley.domain.ids import new_chat_id
from parley.store import open_store
from parley.store.migrations import STEPS
from tests.unit.store.conftest import raw

T0 = 1_767_225_600_000


async def _chat(store, n: int, *texts: str, account: str = "1", visitor: int | None = None) -> Chat:
    chat = Chat(
        id=new_chat_id(),
        account_id=account,
        rt_session_id=4294967296 + n,
        visitor_id=n if visitor is None else visitor,
        start_ms=T0 + n,
        chat_timeout=40,
    )
    events = [Event(0, "state", chat.start_ms, {"state": "waiting"})]
    events += [Event(i + 1, "line", chat.start_ms, {"text": text, "by": "x"}) for i, text in enumerate(texts)]
    await store.insert_chat(chat, events, new_visitor=True)
    return chat


async def _found(store, *words: str) -> set[str]:
    summaries = await store.history.summaries("1", ChatQuery(words=words), None, 200)
    return {s.chat.id for s in summaries}


async def test_the_text_index_follows_inserts_and_deletes_of_events(store, database_url):
    await store.create_account(Account("1", "One"))
    first = await _chat(store, 1, "hello apple", "banana split")
    second = await _chat(store, 2, "apple pie")
    assert await _found(store, "apple") == {first.id, second.id}
    assert await _found(store, "banana") == {first.id}
    # A line appended later is found; the summary quotes the first matching line.
    await store.save_chat(second, [Event(1 + 1, "line", T0, {"text": "cherry on top"})])
    assert await _found(store, "cherry") == {second.id}
    # Deleting a chat's events (then the chat, as the foreign key wants) takes its words out.
    await raw(database_url, "DELETE FROM events WHERE chat_id = $1", first.id)
    await raw(database_url, "DELETE FROM chats WHERE id = $1", first.id)
    assert await _found(store, "apple") == {second.id}
    assert await _found(store, "banana") == set()
    [summary] = await store.history.summaries("1", ChatQuery(words=("apple",)), None, 10)
    assert summary.match is not None and summary.match.fields["text"] == "apple pie"
    # Deleting one line forgets that line only.
    await raw(database_url, "DELETE FROM events WHERE chat_id = $1 AND id = 1", second.id)
    assert await _found(store, "apple") == set()
    assert await _found(store, "cherry") == {second.id}


async def test_many_hits_and_few_hits_find_the_same_chats(store, monkeypatch):
    """SQLite reads few hits whole and walks the chats for many, PostgreSQL checks the newest chats
    then reads the hits of the older: every way answers alike, page after page."""
    from parley.store import history
    from parley.store.postgres import history as postgres_history

    # PostgreSQL: the first step checks only the 5 newest chats one by one, the index's hits the rest.
    monkeypatch.setattr(postgres_history, "WALK_FIRST", 5)
    await store.create_account(Account("1", "One"))
    chats = [await _chat(store, n, f"common word{n}", "rare" if n % 7 == 0 else "other") for n in range(40)]
    newest_first = [c.id for c in sorted(chats, key=lambda c: (c.start_ms, c.id), reverse=True)]
    rare = {c.id for n, c in enumerate(chats) if n % 7 == 0}
    for few in (10**6, 1):
        monkeypatch.setattr(history, "FEW_HITS", few)
        monkeypatch.setattr(postgres_history, "MAX_HITS", few)  # 1: the older chats are walked too
        for word, wanted in (("common", newest_first), ("rare", [i for i in newest_first if i in rare])):
            pages, after = [], None
            while True:
                page = await store.history.summaries("1", ChatQuery(words=(word,)), after, 3)
                pages += [s.chat.id for s in page]
                if len(page) < 3:
                    break
                after = Position(page[-1].chat.start_ms, page[-1].chat.id)
            assert pages == wanted, (word, few)


async def test_the_migration_indexes_lines_stored_before_it_on_sqlite(tmp_path):
    path = str(tmp_path / "old.db")
    store = open_store(path)
    await store.open()
    await store.create_account(Account("1", "One"))
    chat = await _chat(store, 1, "stored before the index")
    await store.close()
    # Back to the schema before the history step: no index, no triggers; then a line stored meanwhile.
    await raw(path, "DROP TABLE event_text")
    for trigger in ("event_text_insert", "event_text_delete", "event_text_update"):
        await raw(path, f"DROP TRIGGER {trigger}")
    for index in ("chats_history", "chats_visitor", "transcript_requests_chat"):
        await raw(path, f"DROP INDEX {index}")
    history_step = next(number for number, step in enumerate(STEPS, start=1) if "event_text" in step.sqlite)
    await raw(path, "DELETE FROM schema_migrations WHERE version = $1", history_step)
    reopened = open_store(path)
    await reopened.open()
    try:
        assert await _found(reopened, "before") == {chat.id}
    finally:
        await reopened.close()


def test_runs_of_close_ids_split_at_wide_gaps():
    from parley.store.history import RUN_GAP, _runs

    assert _runs([]) == []
    assert _runs([5]) == [(5, 5)]
    assert _runs([1, 2, 2 + RUN_GAP, 10_000, 10_001]) == [(1, 2 + RUN_GAP), (10_000, 10_001)]
    assert _runs([1, 2 + RUN_GAP]) == [(1, 1), (2 + RUN_GAP, 2 + RUN_GAP)]


async def test_a_search_finds_chats_far_apart_among_many_hits(store, monkeypatch):
    """A visitor's chats years apart (rt_session_ids far apart), a word in every chat."""
    from parley.store import history

    monkeypatch.setattr(history, "FEW_HITS", 1)
    await store.create_account(Account("1", "One"))
    for n in range(0, 3000, 7):
        await _chat(store, n, "common everywhere")
    mine = [await _chat(store, n, "common here too", visitor=4242) for n in (3, 1003, 2003)]
    found = await store.history.summaries("1", ChatQuery(words=("common",), visitor_id=4242), None, 10)
    assert [s.chat.id for s in found] == [c.id for c in reversed(mine)]
    assert all(s.match is not None and s.match.fields["text"] == "common here too" for s in found)


async def test_a_line_holding_nul_is_stored_and_found(store):
    """PostgreSQL text cannot hold NUL: the text index's expression must not refuse such a line
    (it did: every insert of one failed, a 500 on both sides' line posts)."""
    await store.create_account(Account("1", "One"))
    chat = await _chat(store, 1, "null\x00byte here", "and \\u0000 typed out")
    # (SQLite's json_extract ends the indexed text at the NUL: words after it are not found there.)
    assert await _found(store, "null") == {chat.id}
    assert await _found(store, "typed") == {chat.id}
    assert [e.fields["text"] for e in (await store.load_chat(chat.id, 1)).events][0] == "null\x00byte here"
