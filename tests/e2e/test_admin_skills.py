"""Skills retired and deleted through the admin API and the CLI, against a real server on both
stores: what happens to new chats (a retired skill is an unknown name), to waiting chats (still
served; moved on deletion, or the deletion refused), to agents, surveys and the account default."""

from __future__ import annotations

import time

from tests.e2e.conftest import ACCOUNT, KEY, q, query
from tests.e2e.test_admin_api import ADMIN, admin_server, parley, refused  # noqa: F401  (a fixture)
from tests.e2e.test_agent_api import Agent, start_chat
from tests.unit.domain.test_survey import PRECHAT_EXAMPLE


def available(server, http, skill: str) -> bool:
    url = f"{server.url}/api/account/{ACCOUNT}/chat/availability.json?v=1&appKey={KEY}&skill={skill}"
    return http.get(url).json()["availability"]


def info(http, chat: str) -> dict:
    return http.get(f"{chat}.json?{q()}").json()["chat"]["info"]


def lines(http, chat: str) -> list[str]:
    events = http.get(f"{chat}/events.json?{q()}").json()["events"].get("event", [])
    events = events if isinstance(events, list) else [events]
    return [e["text"] for e in events if e.get("@type") == "line"]


def bob(server, http, skills: list[str]) -> Agent:
    """An agent on ``skills``, logged in and Away (chats wait until he goes Online)."""
    made = http.post(
        f"{server.url}{ADMIN}/accounts/{ACCOUNT}/agents",
        headers=server.auth,
        json={"login": "bob", "password": "bob-secret", "nickname": "Bob", "skills": skills},
    )
    assert made.status_code == 201, made.text
    agent = Agent(server, http, "bob", "bob-secret")
    assert agent.put("/availability", {"availability": {"chat": "Away"}}).status_code == 200
    return agent


def test_a_retired_skill_is_not_offered_but_its_waiting_chats_are_served(admin_server, http):
    skills, auth = f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/skills", admin_server.auth
    support = bob(admin_server, http, ["Support"])
    waiting = start_chat(admin_server, http, skill="Support")
    support.put("/availability", {"availability": {"chat": "Online"}})
    assert available(admin_server, http, "Support") is True
    support.put("/availability", {"availability": {"chat": "Away"}})

    retired = http.patch(f"{skills}/2", headers=auth, json={"retired": True})
    assert retired.json() == {"skill": {"id": 2, "name": "Support", "retired": True}}
    assert [s["retired"] for s in http.get(skills, headers=auth).json()["skills"]] == [False, True]
    support.put("/availability", {"availability": {"chat": "Online"}})
    assert available(admin_server, http, "Support") is False  # at once: the answer for an unknown skill
    assert available(admin_server, http, "Sales") is False  # (nobody on Sales is logged in)
    # A new chat naming it is routed as one naming an unknown skill: no skill (no default is marked).
    fresh = start_chat(admin_server, http, skill="Support")
    assert (info(http, fresh).get("skillName"), info(http, fresh).get("skillId")) == (None, None)
    # The chat that was waiting keeps its skill's name and is still served by the skill's agent.
    assert info(http, waiting)["skillName"] == "Support"
    accepted = support.post(f"{support.session}/incomingRequests", {})
    assert accepted.status_code == 201, accepted.text
    assert (info(http, waiting)["state"], info(http, waiting)["agentName"]) == ("chatting", "Bob")
    # Transfers do not offer it; a retired skill cannot be the account's default.
    error = refused(
        http.patch(f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}", headers=auth, json={"defaultSkill": "Support"}), 400
    )
    assert "retired" in error["message"]
    assert refused(http.patch(f"{skills}/2", headers=auth, json={"retired": "yes"}), 400)["internalCode"] == 11
    assert refused(http.patch(f"{skills}/2", headers=auth, json={}), 400)["internalCode"] == 5
    assert refused(http.patch(f"{skills}/99", headers=auth, json={"retired": True}), 404)["internalCode"] == 12
    assert query(admin_server.database, "SELECT retired_ms IS NOT NULL FROM skills WHERE id = 2")[0][0]

    restored = http.patch(f"{skills}/2", headers=auth, json={"retired": False, "name": "Care"})
    assert restored.json() == {"skill": {"id": 2, "name": "Care", "retired": False}}
    assert available(admin_server, http, "Care") is True

    # The CLI: retire and restore, seen by the running server within a second.
    cli = parley(admin_server.database, "skill", "retire", "--account", ACCOUNT, "--id", "2")
    assert cli.returncode == 0 and "skill 2 (Care) retired" in cli.stdout, cli.stderr
    assert parley(admin_server.database, "skill", "list", "--account", ACCOUNT).stdout.splitlines() == [
        "1\tSales",
        "2\tCare\tretired",
    ]
    deadline = time.monotonic() + 5
    while available(admin_server, http, "Care"):
        assert time.monotonic() < deadline, "the running server never saw the retirement"
        time.sleep(0.1)
    cli = parley(admin_server.database, "skill", "retire", "--account", ACCOUNT, "--id", "2", "--restore")
    assert cli.returncode == 0 and "restored" in cli.stdout
    missing = parley(admin_server.database, "skill", "retire", "--account", ACCOUNT, "--id", "9")
    assert missing.returncode != 0 and "no skill 9" in missing.stderr


def test_deleting_a_skill_with_waiting_chats_is_refused_unless_they_move(admin_server, http):
    account, auth = f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}", admin_server.auth
    skills = f"{account}/skills"
    assert http.post(skills, headers=auth, json={"name": "Billing"}).json()["skill"]["id"] == 3
    agent = bob(admin_server, http, ["Billing", "Support"])
    http.patch(account, headers=auth, json={"defaultSkill": "Billing"})
    imported = http.post(f"{account}/surveys?kind=prechat&skill=Billing", headers=auth, json=PRECHAT_EXAMPLE)
    assert imported.status_code == 201, imported.text
    chat = start_chat(admin_server, http, skill="Billing")
    assert (info(http, chat)["state"], info(http, chat)["skillName"]) == ("waiting", "Billing")

    error = refused(http.delete(f"{skills}/3", headers=auth), 409)
    assert error["internalCode"] == 11 and "1 chat(s) wait" in error["message"]
    assert refused(http.delete(f"{skills}/3?moveTo=3", headers=auth), 400)["internalCode"] == 11
    assert refused(http.delete(f"{skills}/3?moveTo=99", headers=auth), 400)["internalCode"] == 11
    assert refused(http.delete(f"{skills}/3?moveTo=x", headers=auth), 400)["internalCode"] == 11
    assert refused(http.delete(f"{skills}/99", headers=auth), 404)["internalCode"] == 12
    assert [s["id"] for s in http.get(skills, headers=auth).json()["skills"]] == [1, 2, 3]  # nothing changed

    assert http.delete(f"{skills}/3?moveTo=2", headers=auth).status_code == 204
    # The visitor sees the move at once: same chat, still waiting, now for Support, and told so.
    moved = info(http, chat)
    assert (moved["state"], moved["skillName"], moved["skillId"]) == ("waiting", "Support", 2)
    assert lines(http, chat)[-1] == "Please wait while you are transferred to another team."
    agent.put("/availability", {"availability": {"chat": "Online"}})
    assert agent.post(f"{agent.session}/incomingRequests", {}).status_code == 201
    assert info(http, chat)["state"] == "chatting"

    assert [s["name"] for s in http.get(skills, headers=auth).json()["skills"]] == ["Sales", "Support"]
    bobs = http.get(f"{account}/agents/2", headers=auth).json()["agent"]["skills"]
    assert bobs == [{"id": 2, "name": "Support"}]  # the agent lost it
    assert http.get(account, headers=auth).json()["account"]["defaultSkill"] is None
    assert http.get(f"{account}/surveys", headers=auth).json() == {"surveys": []}  # its survey went with it
    assert query(admin_server.database, "SELECT id, name, moved_to FROM deleted_skills") == [(3, "Billing", 2)]
    assert refused(http.delete(f"{skills}/3", headers=auth), 404)["internalCode"] == 12
    # A deleted skill's name is free again.
    assert http.post(skills, headers=auth, json={"name": "Billing"}).json()["skill"]["id"] == 4


def test_skill_deleted_from_the_cli_moves_its_chats_on_the_running_server(admin_server, http):
    skills = f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/skills"
    assert http.post(skills, headers=admin_server.auth, json={"name": "Billing"}).status_code == 201
    bob(admin_server, http, ["Billing", "Support"])  # logged in, Away: the chat waits
    chat = start_chat(admin_server, http, skill="Billing")
    assert (info(http, chat)["state"], info(http, chat)["skillName"]) == ("waiting", "Billing")

    refusal = parley(admin_server.database, "skill", "delete", "--account", ACCOUNT, "--id", "3")
    assert refusal.returncode != 0 and "wait for skill 'Billing'" in refusal.stderr
    deleted = parley(admin_server.database, "skill", "delete", "--account", ACCOUNT, "--id", "3", "--move-to", "2")
    assert deleted.returncode == 0 and "skill 3 (Billing) deleted; its chats move to skill 2" in deleted.stdout
    deadline = time.monotonic() + 5
    while info(http, chat)["skillName"] != "Support":
        assert time.monotonic() < deadline, "the running server never moved the chat"
        time.sleep(0.1)
    assert info(http, chat)["state"] == "waiting"
    assert lines(http, chat)[-1] == "Please wait while you are transferred to another team."
