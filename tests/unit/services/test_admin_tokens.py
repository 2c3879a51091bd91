import pytest

from parley.domain.ids import digest
from parley.domain.refusals import Invalid, NotFound, Unauthenticated
from parley.services.admin_tokens import MAX_NAME_LENGTH, AdminTokens


@pytest.fixture
def tokens(store) -> AdminTokens:
    return AdminTokens(store)


async def test_a_created_token_authenticates_and_is_stored_as_its_digest(tokens, store):
    token_id, token = await tokens.create("  ops  ")
    assert token.startswith("padm_") and len(token) == 5 + 64
    found = await tokens.authenticate(token)
    assert (found.id, found.name, found.revoked_ms) == (token_id, "ops", None)
    (stored,) = await store.admin_tokens()
    assert stored.token_digest == digest(token) and token not in repr(stored)


async def test_tokens_are_unique(tokens):
    made = {(await tokens.create(f"t{i}"))[1] for i in range(5)}
    assert len(made) == 5


@pytest.mark.parametrize("bearer", [None, "", "padm_" + "0" * 64, "x" * 10_000])
async def test_absent_unknown_or_oversized_bearers_are_refused(tokens, bearer):
    await tokens.create("ops")
    with pytest.raises(Unauthenticated):
        await tokens.authenticate(bearer)


async def test_a_revoked_token_is_refused_and_the_others_stay(tokens):
    first_id, first = await tokens.create("first")
    _, second = await tokens.create("second")
    revoked = await tokens.revoke(first_id)
    assert revoked.id == first_id and revoked.revoked_ms is not None
    with pytest.raises(Unauthenticated):
        await tokens.authenticate(first)
    assert (await tokens.authenticate(second)).name == "second"
    with pytest.raises(Invalid, match="already revoked"):
        await tokens.revoke(first_id)
    with pytest.raises(NotFound):
        await tokens.revoke(999)
    assert [(t.name, t.revoked_ms is not None) for t in await tokens.list()] == [("first", True), ("second", False)]


@pytest.mark.parametrize("name", ["", "   ", "a" * (MAX_NAME_LENGTH + 1), "tab\there", "new\nline"])
async def test_a_token_needs_a_sensible_name(tokens, name):
    with pytest.raises(Invalid):
        await tokens.create(name)
    assert await tokens.list() == []
