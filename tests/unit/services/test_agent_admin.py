"""Administering agents and skills (services/accounts.Admin) and what a running engine does with it."""

import pytest

from parley.domain.chat import CHATTING, ENDED, WAITING
from parley.domain.refusals import Invalid, NotFound, Unauthenticated
from parley.services.accounts import DEMO_ACCOUNT, Admin
from tests.unit.conftest import log_in
from tests.unit.services.steps import add_agent, start_chat


async def test_agent_update_changes_what_is_given_only(engine):
    admin = Admin(engine.store)
    (natalie,) = await admin.agents(DEMO_ACCOUNT)
    updated = await admin.update_agent(DEMO_ACCOUNT, natalie.id, nickname=" Nat ", skills=["support", "Sales", "sales"])
    assert (updated.nickname, updated.max_chats, updated.enabled) == ("Nat", 4, True)
    stored = await admin.agent(DEMO_ACCOUNT, natalie.id)
    assert [engine.directory.skill(s) for s in stored.skill_ids] and sorted(stored.skill_ids) == [1, 2]
    assert stored.password_hash == natalie.password_hash
    await admin.update_agent(DEMO_ACCOUNT, natalie.id, max_chats=-1)
    assert (await admin.agent(DEMO_ACCOUNT, natalie.id)).max_chats == -1


@pytest.mark.parametrize(
    "change",
    [
        {"nickname": " "},
        {"skills": ["Nope"]},
        {"max_chats": 1001},
        {"max_chats": -2},
        {"max_chats": True},
        {"password": ""},
        {"nickname": "a\nb"},
    ],
)
async def test_bad_agent_changes_are_refused_and_change_nothing(engine, change):
    admin = Admin(engine.store)
    (before,) = await admin.agents(DEMO_ACCOUNT)
    with pytest.raises(Invalid):
        await admin.update_agent(DEMO_ACCOUNT, before.id, **change)
    assert await admin.agent(DEMO_ACCOUNT, before.id) == before


async def test_an_agent_of_another_account_is_not_found(engine):
    admin = Admin(engine.store)
    await admin.create_account("other")
    oscar = await admin.create_agent("other", "oscar", "pw")
    with pytest.raises(NotFound):
        await admin.agent(DEMO_ACCOUNT, oscar)
    with pytest.raises(NotFound):
        await admin.update_agent(DEMO_ACCOUNT, oscar, enabled=False)
    assert (await admin.agent("other", oscar)).enabled


async def test_a_new_password_replaces_the_old(engine, agents):
    admin = Admin(engine.store)
    (natalie,) = await admin.agents(DEMO_ACCOUNT)
    await admin.update_agent(DEMO_ACCOUNT, natalie.id, password="fresh-one")
    await engine.reload_directory()
    with pytest.raises(Unauthenticated):
        await agents.login(DEMO_ACCOUNT, "natalie", "natalie")
    await agents.login(DEMO_ACCOUNT, "natalie", "fresh-one")


async def test_disabling_ends_the_logins_and_requeues_the_chats(engine, visitors, agents):
    natalie_login, natalie, _ = await log_in(agents)
    await add_agent(engine, "bob", ["Sales"])
    _, bob, _ = await log_in(agents, "bob", "bob")
    await agents.set_availability(bob.id, "Away")
    held = await start_chat(visitors)
    assert (await agents.accept(natalie)).id == held.id
    await agents.set_availability(bob.id, "Online")
    await Admin(engine.store).update_agent(DEMO_ACCOUNT, natalie.id, enabled=False)
    await engine.directory_changed()
    assert held.state == WAITING
    assert natalie_login.bearer_digest not in engine.presence.by_bearer
    assert not engine.presence.logged_in(natalie.id)
    with pytest.raises(Unauthenticated):
        await agents.login(DEMO_ACCOUNT, "natalie", "natalie")
    assert (await agents.accept(bob)).id == held.id and held.state == CHATTING


async def test_disabling_the_only_agent_ends_its_chats(engine, visitors, agents):
    _, natalie, _ = await log_in(agents)
    held = await start_chat(visitors)
    await agents.accept(natalie)
    await Admin(engine.store).update_agent(DEMO_ACCOUNT, natalie.id, enabled=False)
    await engine.directory_changed()
    assert held.state == ENDED  # nobody logged in could take it (agent spec §4.6, as at a logout)


async def test_skills_are_renamed_unless_the_name_is_taken(engine):
    admin = Admin(engine.store)
    renamed = await admin.rename_skill(DEMO_ACCOUNT, 1, " Pre-sales ")
    assert renamed.name == "Pre-sales"
    assert [s.name for s in await admin.skills(DEMO_ACCOUNT)] == ["Pre-sales", "Support"]
    await admin.rename_skill(DEMO_ACCOUNT, 1, "pre-SALES")  # its own name in another case
    with pytest.raises(Invalid):
        await admin.rename_skill(DEMO_ACCOUNT, 1, "support")
    with pytest.raises(Invalid):
        await admin.rename_skill(DEMO_ACCOUNT, 1, "")
    with pytest.raises(NotFound):
        await admin.rename_skill(DEMO_ACCOUNT, 99, "X")
