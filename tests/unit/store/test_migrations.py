import sqlite3

from parley.domain.ids import CHAT_ID_PATTERN
from parley.store import open_store
from parley.store.migrations import STEPS


def tables(path: str) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def versions(path: str) -> list[int]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY version")]


async def test_opening_a_new_file_applies_every_step(db_path):
    store = open_store(db_path)
    await store.open()
    await store.close()
    assert versions(db_path) == list(range(1, len(STEPS) + 1))
    assert {"accounts", "app_keys", "skills", "agents", "chats", "events", "agent_sessions"} <= tables(db_path)


async def test_reopening_applies_nothing_twice(db_path):
    for _ in range(3):
        store = open_store(db_path)
        await store.open()
        await store.close()
    assert versions(db_path) == list(range(1, len(STEPS) + 1))


async def test_reopening_keeps_the_data(db_path):
    from parley.domain.account import Account

    store = open_store(db_path)
    await store.open()
    await store.create_account(Account("1234", "Acme"))
    await store.close()
    again = open_store(db_path)
    await again.open()
    assert "1234" in (await again.load_directory()).accounts
    await again.close()


async def test_file_is_in_wal_mode(db_path):
    store = open_store(db_path)
    await store.open()
    await store.close()
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_url_forms(tmp_path):
    absolute = tmp_path / "a.db"
    assert open_store(f"sqlite:///{absolute}").path == str(absolute)
    assert open_store(str(absolute)).path == str(absolute)


def test_other_database_urls_are_refused():
    import pytest

    with pytest.raises(ValueError):
        open_store("postgresql://localhost/parley")


async def test_chats_stored_before_step_5_get_their_own_agent_keys(db_path):
    with sqlite3.connect(db_path) as db:  # a database as step 4 left it, with two chats
        db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)")
        for version, script in enumerate(STEPS[:4], start=1):
            db.executescript(script)
            db.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
        db.execute("INSERT INTO accounts (id, name, created_ms) VALUES ('1', 'A', 0)")
        for n in (1, 2):
            db.execute("INSERT INTO chats (id, account_id, rt_session_id, visitor_id, state, start_ms, chat_timeout,"
                       " details, custom_variables, next_event_id) VALUES (?, '1', ?, 1, 'chatting', 0, 40, '{}',"
                       " '[]', 0)", (f"H{n}-x", n))
    store = open_store(db_path)
    await store.open()
    (one, two) = await store.load_chats(ended_after_ms=0)
    await store.close()
    assert one.agent_key != two.agent_key
    for chat in (one, two):
        assert CHAT_ID_PATTERN.match(chat.agent_key) and chat.requester_agent_id is None
