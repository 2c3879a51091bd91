import sqlite3

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
