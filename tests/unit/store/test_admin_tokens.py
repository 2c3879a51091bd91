"""Admin token records on both backends: the same answers from SQLite and PostgreSQL."""

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
    assert await store.admin_tokens() == [AdminToken(first, "ops", "d1", 1000, 3000),
                                          AdminToken(second, "ci", "d2", 2000, None)]


async def test_a_digest_is_stored_once(store):
    await store.create_admin_token("ops", "same", 1000)
    with pytest.raises(Exception):
        await store.create_admin_token("again", "same", 2000)
