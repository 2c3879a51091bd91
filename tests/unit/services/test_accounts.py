import pytest

from parley.domain.refusals import Invalid, NotFound, Unauthenticated
from parley.services.accounts import DEMO_ACCOUNT, DEMO_APP_KEY, Admin, key_id


@pytest.fixture
def admin(store) -> Admin:
    return Admin(store)


async def test_seed_demo_creates_account_key_skills_and_agent(admin, store):
    assert await admin.seed_demo() is True
    directory = await store.load_directory()
    assert DEMO_ACCOUNT in directory.accounts
    assert sorted(s.name for s in directory.skills.values()) == ["Sales", "Support"]
    (agent,) = directory.agents.values()
    sales = next(s.id for s in directory.skills.values() if s.name == "Sales")
    assert (agent.login, agent.nickname, agent.max_chats, agent.skill_ids) == ("natalie", "Natalie", 4, [sales])
    # The published key is a digest in the store, never the key itself.
    assert DEMO_APP_KEY not in directory.key_digests
    assert len(directory.key_digests) == 1


async def test_the_demo_human_agent_takes_the_skill_the_bot_does_not(admin, store):
    await admin.seed_demo()
    assert await admin.seed_demo_human() is True
    assert await admin.seed_demo_human() is False
    directory = await store.load_directory()
    support = next(s.id for s in directory.skills.values() if s.name == "Support")
    humans = [a for a in directory.agents.values() if a.login == "alex"]
    assert [(a.nickname, a.skill_ids) for a in humans] == [("Alex", [support])]


async def test_seed_demo_is_idempotent(admin, store):
    await admin.seed_demo()
    assert await admin.seed_demo() is False
    directory = await store.load_directory()
    assert len(directory.accounts) == 1 and len(directory.agents) == 1 and len(directory.skills) == 2


async def test_demo_key_opens_the_demo_account(engine):
    engine.directory.check_app_key(DEMO_ACCOUNT, DEMO_APP_KEY)
    with pytest.raises(Unauthenticated):
        engine.directory.check_app_key(DEMO_ACCOUNT, "0" * 32)
    with pytest.raises(Unauthenticated):
        engine.directory.check_app_key(DEMO_ACCOUNT, None)


async def test_a_new_accounts_key_opens_only_that_account(engine):
    key = await Admin(engine.store).create_account("5555", "Shop")
    await engine.reload_directory()
    engine.directory.check_app_key("5555", key)
    with pytest.raises(Unauthenticated):
        engine.directory.check_app_key(DEMO_ACCOUNT, key)
    with pytest.raises(Unauthenticated):
        engine.directory.check_app_key("5555", DEMO_APP_KEY)


async def test_duplicate_account_is_refused(admin):
    await admin.create_account("1")
    with pytest.raises(Invalid):
        await admin.create_account("1")


async def test_unknown_time_zone_is_refused(admin):
    with pytest.raises(Invalid):
        await admin.create_account("1", timezone="Mars/Olympus")


async def test_account_time_zone_is_used_for_its_times(engine):
    await Admin(engine.store).create_account("2", timezone="Asia/Kolkata")
    await engine.reload_directory()
    assert str(engine.directory.zone("2")) == "Asia/Kolkata"
    assert str(engine.directory.zone(DEMO_ACCOUNT)) == "UTC"


async def test_duplicate_skill_is_refused_case_insensitively(admin):
    await admin.create_account("1")
    await admin.create_skill("1", "Sales")
    with pytest.raises(Invalid):
        await admin.create_skill("1", "sales")


async def test_same_skill_name_in_two_accounts(admin):
    await admin.create_account("1")
    await admin.create_account("2")
    assert await admin.create_skill("1", "Sales") != await admin.create_skill("2", "Sales")


async def test_agent_with_an_unknown_skill_is_refused(admin):
    await admin.create_account("1")
    with pytest.raises(Invalid):
        await admin.create_agent("1", "a", "pw", skills=["Nope"])


async def test_duplicate_agent_login_is_refused(admin):
    await admin.create_account("1")
    await admin.create_agent("1", "a", "pw")
    with pytest.raises(Invalid):
        await admin.create_agent("1", "a", "pw2")


async def test_agent_password_is_stored_hashed(admin, store):
    await admin.create_account("1")
    agent_id = await admin.create_agent("1", "a", "s3cret-pass")
    stored = (await store.load_directory()).agents[agent_id].password_hash
    assert "s3cret-pass" not in stored
    assert stored.startswith("$argon2")


async def test_default_skill_is_the_marked_one_else_the_first(engine):
    admin = Admin(engine.store)
    await engine.reload_directory()
    assert engine.directory.default_skill(DEMO_ACCOUNT).name == "Sales"  # none marked: the first
    await admin.update_account(DEMO_ACCOUNT, default_skill="Support")
    await engine.reload_directory()
    assert engine.directory.default_skill(DEMO_ACCOUNT).name == "Support"


async def test_update_account_with_an_unknown_default_skill_is_refused(admin):
    await admin.create_account("1")
    with pytest.raises(Invalid):
        await admin.update_account("1", default_skill="Nope")


async def test_accounts_are_listed_by_id_and_an_unknown_one_is_not_found(admin):
    await admin.create_account("b")
    await admin.create_account("a", name="Shop A")
    assert [(a.id, a.name) for a in await admin.accounts()] == [("a", "Shop A"), ("b", "b")]
    assert (await admin.account("a")).name == "Shop A"
    with pytest.raises(NotFound):
        await admin.account("nope")


@pytest.mark.parametrize("account_id", ["", "a/b", "a b", "x" * 21, "ü", "1;DROP"])
async def test_account_ids_are_refused_unless_letters_digits_underscores(admin, account_id):
    with pytest.raises(Invalid):
        await admin.create_account(account_id)
    assert await admin.accounts() == []


@pytest.mark.parametrize("zone", ["", "x" * 5000, "../etc/passwd", "UTC\x00"])
async def test_garbage_time_zones_are_refused(admin, zone):
    with pytest.raises(Invalid):
        await admin.create_account("1", timezone=zone)


async def test_app_keys_are_listed_without_secrets_and_revoked_by_id(admin, store):
    first = await admin.create_account("1")
    second = await admin.create_app_key("1")
    listed = await admin.app_keys("1")
    assert len(listed) == 2 and all(len(key_id(k)) == 16 for k in listed)
    assert {first, second}.isdisjoint({k.key_digest for k in listed})
    revoked = await admin.revoke_app_key("1", key_id(listed[0]).upper())
    assert revoked == listed[0]
    assert await admin.app_keys("1") == listed[1:]
    assert list((await store.load_directory()).key_digests) == [listed[1].key_digest]
    with pytest.raises(NotFound):
        await admin.revoke_app_key("1", key_id(listed[0]))
    with pytest.raises(NotFound):
        await admin.revoke_app_key("1", "")
    with pytest.raises(NotFound):
        await admin.app_keys("nope")
