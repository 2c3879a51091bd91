from parley.domain.account import Account
from parley.domain.canned import CannedResponse

T0 = 1_705_320_000_000


async def accounts(store, *ids: str) -> None:
    for account_id in ids:
        await store.create_account(Account(account_id, account_id))


async def test_added_responses_list_back_oldest_first_per_account(store):
    await accounts(store, "1", "2")
    first = await store.canned.add("1", "Hi", "Hello!", T0, 10)
    second = await store.canned.add("1", "Bye", "Goodbye.", T0 + 1, 10)
    await store.canned.add("2", "Other", "Another account's", T0, 10)
    assert await store.canned.for_account("1") == [
        CannedResponse(first, "1", "Hi", "Hello!", T0),
        CannedResponse(second, "1", "Bye", "Goodbye.", T0 + 1),
    ]
    assert [c.title for c in await store.canned.for_account("2")] == ["Other"]
    assert await store.canned.for_account("3") == []


async def test_the_limit_is_counted_per_account_in_the_same_transaction(store):
    await accounts(store, "1", "2")
    assert [await store.canned.add("1", f"t{n}", "x", T0, 2) for n in range(3)][2] is None
    assert len(await store.canned.for_account("1")) == 2
    assert await store.canned.add("2", "t", "x", T0, 2) is not None  # another account's count is its own


async def test_remove_deletes_only_within_the_account(store):
    await accounts(store, "1", "2")
    mine = await store.canned.add("1", "Hi", "Hello!", T0, 10)
    assert await store.canned.remove("2", mine) is False
    assert len(await store.canned.for_account("1")) == 1
    assert await store.canned.remove("1", mine) is True
    assert await store.canned.remove("1", mine) is False
    assert await store.canned.for_account("1") == []
    # A freed slot counts again; ids are never reused (AUTOINCREMENT).
    assert await store.canned.add("1", "Hi", "Hello!", T0, 1) > mine
