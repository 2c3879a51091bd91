"""Admin records on both backends (admin tokens, app keys): the same answers from SQLite and PostgreSQL."""

import sqlite3

import asyncpg
import pytest

from parley.store.protocol import AdminToken


async def test_admin_tokens_round_trip(store):
    first = await store.create_admin_token("ops", "d1", 1000)
    second = await store.create_admin_token("ci", "d2", 2000)
    assert second > first
    assert await store.admin_token("d1") == AdminToken(first, "ops", "d1", 1000, None)
    assert await store.admin_token("nope") is None
    assert await store.revoke_admin_token(first, 3000) is True
    assert await store.revoke_admin_token(first, 4000) is False  # the first revocation's time stays
    assert await store.revoke_admin_token(999, 4000) is False
    assert await store.admin_tokens() == [
        AdminToken(first, "ops", "d1", 1000, 3000),
        AdminToken(second, "ci", "d2", 2000, None),
    ]


async def test_a_digest_is_stored_once(store):
    await store.create_admin_token("ops", "same", 1000)
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):  # the backend's unique index
        await store.create_admin_token("again", "same", 2000)


async def test_app_keys_listed_per_account_and_deleted(store):
    from parley.domain.account import Account
    from parley.store.protocol import AppKeyRecord

    await store.create_account(Account("1", "One"))
    await store.create_account(Account("2", "Two"))
    await store.add_app_key("1", "k1")
    await store.add_app_key("2", "k2")
    (record,) = await store.app_keys("1")
    assert (record.key_digest, record.account_id) == ("k1", "1") and record.created_ms > 0
    assert isinstance(record, AppKeyRecord)
    assert await store.delete_app_key("1", "k2") is False  # another account's key stays
    assert await store.delete_app_key("1", "k1") is True
    assert await store.app_keys("1") == []
    assert [k.key_digest for k in await store.app_keys("2")] == ["k2"]
    assert (await store.load_directory()).key_digests == {"k2": "2"}
