"""The admin API (/admin/v1/) against a real server: admin tokens made, listed and revoked by the
CLI, what the guard refuses (no token, a wrong one, a revoked one, app keys, agent bearers), and
the resources it serves, on both store backends."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from parley.services.admin_tokens import AdminTokens
from tests.e2e.conftest import ACCOUNT, KEY, Server, database_url, q, query, seed
from tests.e2e.test_agent_api import Agent, start_chat

ADMIN = "/admin/v1"


def parley(database, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args, "--database", database_url(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def admin_server(tmp_path):
    """A seeded server and an admin token made before it started."""
    made = {}

    async def token(admin) -> None:
        made["id"], made["token"] = await AdminTokens(admin.store).create("test suite")

    database = tmp_path / "parley.db"
    seed(database, token)
    instance = Server(database).start()
    instance.token = made["token"]
    instance.auth = {"Authorization": f"Bearer {made['token']}"}
    yield instance
    instance.stop()


def refused(answer, status: int = 401) -> dict:
    """The API's error body, as JSON whatever the request asked for."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert isinstance(error["internalCode"], int) and error["message"] and error["time"]
    return error


def test_the_guard_refuses_every_credential_but_a_live_admin_token(admin_server, http):
    url = f"{admin_server.url}{ADMIN}/accounts"
    assert "padm_" in admin_server.token
    refused(http.get(url))
    refused(http.get(url, headers={"Authorization": "Bearer " + "padm_" + "0" * 64}))
    refused(http.get(url, headers={"Authorization": f"Bearer {admin_server.token}x"}))
    refused(http.get(url, headers={"Authorization": "Bearer " + "x" * 100_000}))
    refused(http.get(url, headers={"Authorization": f"Basic {admin_server.token}"}))
    refused(http.get(f"{url}?appKey={KEY}"))
    refused(http.get(url, headers={"Authorization": f"LivePerson appKey={KEY}"}))
    login = http.post(
        f"{admin_server.url}/api/account/{ACCOUNT}/login", json={"username": "natalie", "password": "natalie"}
    ).json()
    refused(http.get(url, headers={"Authorization": f"Bearer {login['bearer']}"}))
    # XML asked for: the admin API still answers its errors in JSON.
    assert refused(http.get(url + ".xml", headers={"Accept": "application/xml"}))["internalCode"] == 10
    # The guard comes first: an unknown account is not revealed to a caller without a token.
    assert refused(http.get(f"{url}/nope"))["internalCode"] == 10
    assert http.get(url, headers=admin_server.auth).status_code == 200


def test_revoked_token_is_refused_on_its_next_request(admin_server, http):
    url = f"{admin_server.url}{ADMIN}/accounts"
    assert http.get(url, headers=admin_server.auth).status_code == 200
    made = parley(admin_server.database, "admin-token", "create", "--name", "second")
    assert made.returncode == 0, made.stderr
    second = made.stdout.strip()
    assert second.startswith("padm_") and "not shown again" in made.stderr
    assert http.get(url, headers={"Authorization": f"Bearer {second}"}).status_code == 200

    listed = parley(admin_server.database, "admin-token", "list")
    assert listed.returncode == 0, listed.stderr
    lines = [line.split("\t") for line in listed.stdout.strip().splitlines()]
    assert [(line[0], line[2], line[3]) for line in lines] == [("1", "-", "test suite"), ("2", "-", "second")]
    assert admin_server.token not in listed.stdout and second not in listed.stdout
    # Stored as digests only: neither token is in the database.
    stored = query(admin_server.database, "SELECT token_digest FROM admin_tokens")
    assert {row[0] for row in stored}.isdisjoint({admin_server.token, second})

    revoked = parley(admin_server.database, "admin-token", "revoke", "--id", "1")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    refused(http.get(url, headers=admin_server.auth))  # at once: no reload, no wait
    assert http.get(url, headers={"Authorization": f"Bearer {second}"}).status_code == 200
    again = parley(admin_server.database, "admin-token", "revoke", "--id", "1")
    assert again.returncode == 2 and "already revoked" in again.stderr
    unknown = parley(admin_server.database, "admin-token", "revoke", "--id", "99")
    assert unknown.returncode == 2 and "no admin token 99" in unknown.stderr
    nameless = parley(admin_server.database, "admin-token", "create", "--name", " ")
    assert nameless.returncode == 2 and "needs a name" in nameless.stderr
    listed = parley(admin_server.database, "admin-token", "list").stdout
    assert listed.splitlines()[0].split("\t")[2] != "-"  # the revocation's time


def test_accounts_list_and_show(admin_server, http):
    base = f"{admin_server.url}{ADMIN}/accounts"
    accounts = http.get(base, headers=admin_server.auth).json()["accounts"]
    assert [a["id"] for a in accounts] == [ACCOUNT]
    shown = http.get(f"{base}/{ACCOUNT}", headers=admin_server.auth)
    assert shown.headers["content-type"] == "application/json"
    assert shown.json() == {
        "account": {"id": ACCOUNT, "name": "Demo", "timezone": "UTC", "defaultSkill": None, "offlineEmail": None}
    }
    assert refused(http.get(f"{base}/nope", headers=admin_server.auth), 404)["internalCode"] == 12
    refused(http.delete(f"{base}/{ACCOUNT}", headers=admin_server.auth), 405)
    refused(http.get(f"{admin_server.url}{ADMIN}/nothing", headers=admin_server.auth), 404)


def availability(server, http, account: str, key: str) -> int:
    return http.get(f"{server.url}/api/account/{account}/chat/availability.json?v=1&appKey={key}").status_code


def test_account_create_and_update(admin_server, http):
    base, auth = f"{admin_server.url}{ADMIN}/accounts", admin_server.auth
    created = http.post(
        base, headers=auth, json={"account": {"id": "shop", "name": "Shop", "timezone": "Europe/Paris"}}
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{base}/shop"
    body = created.json()
    assert body["account"] == {
        "id": "shop",
        "name": "Shop",
        "timezone": "Europe/Paris",
        "defaultSkill": None,
        "offlineEmail": None,
    }
    assert availability(admin_server, http, "shop", body["appKey"]) == 200  # the running server knows it now
    assert [a["id"] for a in http.get(base, headers=auth).json()["accounts"]] == [ACCOUNT, "shop"]

    assert refused(http.post(base, headers=auth, json={"id": "shop"}), 400)["message"] == "account shop already exists"
    assert refused(http.post(base, headers=auth, json={"id": "a/b"}), 400)["internalCode"] == 11
    assert refused(http.post(base, headers=auth, json={"id": "x" * 21}), 400)["internalCode"] == 11
    assert refused(http.post(base, headers=auth, json={"name": "no id"}), 400)["internalCode"] == 5
    assert "timeZone" in refused(http.post(base, headers=auth, json={"id": "b", "timeZone": "UTC"}), 400)["message"]
    assert (
        refused(http.post(base, headers=auth, json={"id": "b", "timezone": "Mars/Olympus"}), 400)["internalCode"] == 11
    )
    assert refused(http.post(base, headers=auth, json={"id": ["b"]}), 400)["internalCode"] == 11
    not_json = http.post(base, headers={**auth, "Content-Type": "application/json"}, content=b"{not json")
    assert refused(not_json, 400)["internalCode"] == 5

    shop = f"{base}/shop"
    assert refused(http.patch(shop, headers=auth, json={"defaultSkill": "Nope"}), 400)["internalCode"] == 11
    assert refused(http.patch(shop, headers=auth, json={"offlineEmail": "not an address"}), 400)["internalCode"] == 11
    assert refused(http.patch(f"{base}/nope", headers=auth, json={"name": "x"}), 404)["internalCode"] == 12
    changed = http.patch(
        f"{base}/{ACCOUNT}",
        headers=auth,
        json={
            "name": "Demo shop",
            "timezone": "Asia/Kolkata",
            "defaultSkill": "support",
            "offlineEmail": "desk@example.com",
        },
    )
    assert changed.status_code == 200, changed.text
    account = changed.json()["account"]
    assert (account["name"], account["timezone"], account["defaultSkill"]["name"], account["offlineEmail"]) == (
        "Demo shop",
        "Asia/Kolkata",
        "Support",
        "desk@example.com",
    )
    # The running server uses it at once: its answers are in the account's new time zone.
    error = http.get(f"{admin_server.url}/api/account/{ACCOUNT}/chat/availability.json?v=1&appKey=wrong").json()[
        "error"
    ]
    assert error["time"].endswith("+05:30")
    cleared = http.patch(f"{base}/{ACCOUNT}", headers=auth, json={"offlineEmail": ""}).json()["account"]
    assert cleared["offlineEmail"] is None and cleared["name"] == "Demo shop"
    # The CLI reads the same store.
    shown = parley(admin_server.database, "account", "show", "--id", ACCOUNT)
    assert shown.returncode == 0 and "Demo shop" in shown.stdout and "Asia/Kolkata" in shown.stdout
    listed = parley(admin_server.database, "account", "list").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == [ACCOUNT, "shop"]


def test_app_keys_created_listed_and_revoked_at_once(admin_server, http):
    keys, auth = f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/appKeys", admin_server.auth
    (demo,) = http.get(keys, headers=auth).json()["appKeys"]
    assert KEY not in str(demo) and len(demo["id"]) == 16
    made = http.post(keys, headers=auth)
    assert made.status_code == 201, made.text
    new = made.json()["appKey"]
    assert made.headers["location"] == f"{keys}/{new['id']}"
    assert len(new["key"]) == 32 and availability(admin_server, http, ACCOUNT, new["key"]) == 200
    listed = http.get(keys, headers=auth).json()["appKeys"]
    assert [k["id"] for k in listed] == [demo["id"], new["id"]] and new["key"] not in str(listed)

    assert http.delete(f"{keys}/{new['id']}", headers=auth).status_code == 204
    assert availability(admin_server, http, ACCOUNT, new["key"]) == 401  # the very next request
    assert availability(admin_server, http, ACCOUNT, KEY) == 200
    assert refused(http.delete(f"{keys}/{new['id']}", headers=auth), 404)["internalCode"] == 12
    assert refused(http.delete(f"{keys}/{'0' * 16}", headers=auth), 404)["internalCode"] == 12
    assert refused(http.get(f"{admin_server.url}{ADMIN}/accounts/nope/appKeys", headers=auth), 404)
    assert refused(http.post(f"{admin_server.url}{ADMIN}/accounts/nope/appKeys", headers=auth), 404)
    # Another account's key id does not revoke through this account.
    other = http.post(f"{admin_server.url}{ADMIN}/accounts", headers=auth, json={"id": "other"}).json()
    (other_key,) = http.get(f"{admin_server.url}{ADMIN}/accounts/other/appKeys", headers=auth).json()["appKeys"]
    refused(http.delete(f"{keys}/{other_key['id']}", headers=auth), 404)
    assert availability(admin_server, http, "other", other["appKey"]) == 200

    # From the CLI while the server runs: the server drops the key within a second.
    listed = parley(admin_server.database, "appkey", "list", "--account", ACCOUNT)
    assert listed.returncode == 0 and listed.stdout.split("\t")[0] == demo["id"] and KEY not in listed.stdout
    revoked = parley(admin_server.database, "appkey", "revoke", "--account", ACCOUNT, "--id", demo["id"])
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 5
    while availability(admin_server, http, ACCOUNT, KEY) != 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert availability(admin_server, http, ACCOUNT, KEY) == 401


def test_skills_created_listed_and_renamed(admin_server, http):
    skills, auth = f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/skills", admin_server.auth
    assert http.get(skills, headers=auth).json() == {
        "skills": [{"id": 1, "name": "Sales", "retired": False}, {"id": 2, "name": "Support", "retired": False}]
    }
    made = http.post(skills, headers=auth, json={"skill": {"name": "Billing"}})
    assert made.status_code == 201 and made.headers["location"] == f"{skills}/3"
    assert made.json() == {"skill": {"id": 3, "name": "Billing", "retired": False}}
    assert refused(http.post(skills, headers=auth, json={"name": "billing"}), 400)["internalCode"] == 11
    assert refused(http.post(skills, headers=auth, json={"name": " "}), 400)["internalCode"] == 5
    assert refused(http.post(skills, headers=auth, json={"name": "x" * 201}), 400)["internalCode"] == 11
    renamed = http.patch(f"{skills}/1", headers=auth, json={"name": "Pre-sales"})
    assert renamed.json() == {"skill": {"id": 1, "name": "Pre-sales", "retired": False}}
    assert refused(http.patch(f"{skills}/1", headers=auth, json={"name": "support"}), 400)["internalCode"] == 11
    assert refused(http.patch(f"{skills}/99", headers=auth, json={"name": "X"}), 404)["internalCode"] == 12
    assert refused(http.patch(f"{skills}/abc", headers=auth, json={"name": "X"}), 404)["internalCode"] == 12
    # The running server routes by the new name at once; Natalie (skill 1) follows the rename.
    assert (
        http.get(
            f"{admin_server.url}/api/account/{ACCOUNT}/chat/availability.json?v=1&appKey={KEY}&skill=Pre-sales"
        ).status_code
        == 200
    )
    natalie = http.get(f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/agents/1", headers=auth).json()["agent"]
    assert natalie["skills"] == [{"id": 1, "name": "Pre-sales"}]
    listed = parley(admin_server.database, "skill", "list", "--account", ACCOUNT).stdout.splitlines()
    assert listed == ["1\tPre-sales", "2\tSupport", "3\tBilling"]
    cli = parley(admin_server.database, "skill", "rename", "--account", ACCOUNT, "--id", "3", "--name", "Invoices")
    assert cli.returncode == 0 and "Invoices" in cli.stdout


def test_agents_created_updated_disabled_and_enabled(admin_server, http):
    agents, auth = f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/agents", admin_server.auth
    made = http.post(
        agents,
        headers=auth,
        json={
            "agent": {
                "login": "bob",
                "password": "bob-secret",
                "nickname": "Bob",
                "skills": ["Sales", "sales"],
                "maxChats": 2,
            }
        },
    )
    assert made.status_code == 201, made.text
    bob_id = made.json()["agent"]["id"]
    assert made.headers["location"] == f"{agents}/{bob_id}"
    assert made.json()["agent"] == {
        "id": bob_id,
        "login": "bob",
        "nickname": "Bob",
        "maxChats": 2,
        "enabled": True,
        "skills": [{"id": 1, "name": "Sales"}],
    }
    assert refused(http.post(agents, headers=auth, json={"login": "bob", "password": "x"}), 400)["internalCode"] == 11
    assert refused(http.post(agents, headers=auth, json={"login": "c"}), 400)["internalCode"] == 5
    assert refused(http.post(agents, headers=auth, json={"login": "c", "password": "x", "skills": ["Nope"]}), 400)
    assert refused(http.post(agents, headers=auth, json={"login": "c", "password": "x", "maxChats": 10**6}), 400)
    assert refused(http.post(agents, headers=auth, json={"login": "c", "password": "x", "skills": "Sales"}), 400)
    assert [a["login"] for a in http.get(agents, headers=auth).json()["agents"]] == ["natalie", "bob"]

    changed = http.patch(
        f"{agents}/{bob_id}", headers=auth, json={"nickname": "Robert", "skills": ["Support", "Sales"], "maxChats": -1}
    )
    assert changed.json()["agent"]["nickname"] == "Robert" and changed.json()["agent"]["maxChats"] == -1
    assert [s["name"] for s in changed.json()["agent"]["skills"]] == ["Sales", "Support"]  # by skill id
    assert refused(http.patch(f"{agents}/{bob_id}", headers=auth, json={"enabled": "no"}), 400)["internalCode"] == 11
    assert refused(http.patch(f"{agents}/999", headers=auth, json={"nickname": "x"}), 404)["internalCode"] == 12
    assert refused(http.get(f"{agents}/x", headers=auth), 404)["internalCode"] == 12
    # A new password works at the next login; the old one no longer does.
    assert http.patch(f"{agents}/{bob_id}", headers=auth, json={"password": "new-secret"}).status_code == 200
    login = f"{admin_server.url}/api/account/{ACCOUNT}/login"
    assert http.post(login, json={"username": "bob", "password": "bob-secret"}).status_code == 401
    assert http.post(login, json={"username": "bob", "password": "new-secret"}).status_code == 200

    # Natalie holds a chat; Bob is online too. Disabling Natalie ends her logins and requeues the chat.
    natalie, bob = Agent(admin_server, http), Agent(admin_server, http, "bob", "new-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    chat = start_chat(admin_server, http, skill="Sales")
    assert natalie.post(f"{natalie.session}/incomingRequests", {}).status_code == 201
    assert http.get(f"{chat}.json?{q()}").json()["chat"]["info"]["state"] == "chatting"
    bob.put("/availability", {"availability": {"chat": "Online"}})
    disabled = http.patch(f"{agents}/1", headers=auth, json={"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["agent"]["enabled"] is False
    assert http.get(f"{natalie.session}.json", headers=natalie.auth).status_code == 401  # her bearer: gone now
    assert http.post(login, json={"username": "natalie", "password": "natalie"}).status_code == 401
    assert http.get(f"{chat}.json?{q()}").json()["chat"]["info"]["state"] == "waiting"  # requeued, not ended
    taken = bob.post(f"{bob.session}/incomingRequests", {})
    assert taken.status_code == 201, taken.text
    assert http.get(f"{chat}.json?{q()}").json()["chat"]["info"]["agentName"] == "Robert"

    enabled = http.patch(f"{agents}/1", headers=auth, json={"enabled": True})
    assert enabled.json()["agent"]["enabled"] is True
    assert http.post(login, json={"username": "natalie", "password": "natalie"}).status_code == 200
    shown = parley(admin_server.database, "agent", "show", "--account", ACCOUNT, "--id", str(bob_id))
    assert shown.returncode == 0 and "nickname=Robert" in shown.stdout and "enabled" in shown.stdout


def test_agent_disabled_from_the_cli_is_logged_out_by_the_running_server(admin_server, http):
    natalie = Agent(admin_server, http)
    assert http.get(f"{natalie.session}.json", headers=natalie.auth).status_code == 200
    disabled = parley(admin_server.database, "agent", "disable", "--account", ACCOUNT, "--id", "1")
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    deadline = time.monotonic() + 5
    while http.get(f"{natalie.session}.json", headers=natalie.auth).status_code != 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert http.get(f"{natalie.session}.json", headers=natalie.auth).status_code == 401
    updated = parley(
        admin_server.database,
        "agent",
        "update",
        "--account",
        ACCOUNT,
        "--id",
        "1",
        "--max-chats",
        "7",
        "--skills",
        "Support",
    )
    assert updated.returncode == 0 and "max_chats=7" in updated.stdout and "skills=2" in updated.stdout
    assert parley(admin_server.database, "agent", "enable", "--account", ACCOUNT, "--id", "1").returncode == 0
    reset = parley(
        admin_server.database, "agent", "reset-password", "--account", ACCOUNT, "--id", "1", "--password", "fresh"
    )
    assert reset.returncode == 0 and "password changed" in reset.stdout
    login = f"{admin_server.url}/api/account/{ACCOUNT}/login"
    # The server reads a change by another process within a second (its sweep).
    deadline = time.monotonic() + 5
    while http.post(login, json={"username": "natalie", "password": "fresh"}).status_code != 200:
        assert time.monotonic() < deadline, "the new password never worked"
        time.sleep(0.2)
    listed = parley(admin_server.database, "agent", "list", "--account", ACCOUNT)
    assert listed.stdout.startswith("1\tnatalie\t")
