"""Bots' application credentials, against a real server on both stores: made (shown once), listed
and revoked through the admin API and the CLI, stored as a digest only, and accepted by the Login
Service's application login (L1) exactly as a password login is, then refused once revoked, for a
disabled agent, or when any value is wrong; the attempts count in the login limit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import orjson

from parley.client import AgentClient
from parley.services.app_credentials import AppCredentials
from tests.e2e.conftest import ACCOUNT, Server, q, query, seed
from tests.e2e.test_admin_api import ADMIN, admin_server, parley, refused  # noqa: F401  (a fixture)
from tests.e2e.test_agent_api import start_chat

FIELDS = ("appKey", "secret", "accessToken", "accessTokenSecret")


def login(server, http, username: str, values: dict):
    body = {"username": username, **{name: values[name] for name in FIELDS}}
    return http.post(f"{server.url}/api/account/{ACCOUNT}/login?v=1.3", json=body)


def test_a_bot_logs_in_with_application_credentials_and_works(admin_server, http):
    natalie, auth = f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/agents/1", admin_server.auth
    made = http.post(f"{natalie}/appCredentials", headers=auth)
    assert made.status_code == 201, made.text
    values = made.json()["appCredentials"]
    assert made.headers["location"] == f"{natalie}/appCredentials/{values['id']}"
    assert [len(values[name]) for name in FIELDS] == [32, 16, 32, 16]
    assert all(int(values[name], 16) >= 0 for name in FIELDS)
    listed = http.get(f"{natalie}/appCredentials", headers=auth).json()["appCredentials"]
    assert listed == [{"id": values["id"], "createdAt": values["createdAt"]}]
    # At rest: one digest of the four, none of the values.
    (row,) = query(admin_server.database, "SELECT * FROM app_credentials")
    assert len(row[2]) == 64 and not any(values[name] in str(row) for name in FIELDS)

    # L1's application login answers as a user login does: bearer, csrf, config, cookie.
    answer = login(admin_server, http, "natalie", values)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["bearer"]) == 64 and len(body["csrf"]) == 64 and "Session_id" in answer.cookies
    assert (body["config"]["loginName"], body["config"]["userId"]) == ("natalie", "1")
    password = http.post(
        f"{admin_server.url}/api/account/{ACCOUNT}/login", json={"username": "natalie", "password": "natalie"}
    ).json()
    assert set(body) == set(password) and set(body["config"]) == set(password["config"])

    # The bearer does agent work: a session, availability, a chat accepted and answered.
    bearer = {"Authorization": f"Bearer {body['bearer']}"}
    base = f"{admin_server.url}/api/account/{ACCOUNT}"
    session = http.post(f"{base}/agentSession.json?v=1&NC=true", json={"loginData": ""}, headers=bearer)
    assert session.status_code == 201
    session_uri = session.json()["agentSessionLocation"]["link"]["@href"]
    online = http.post(
        f"{session_uri}/availability.json",
        json={"availability": {"chat": "Online"}},
        headers={**bearer, "X-HTTP-Method-Override": "PUT"},
    )
    assert online.status_code == 200
    chat = start_chat(admin_server, http, skill="Sales")
    accepted = http.post(f"{session_uri}/incomingRequests.json", json={}, headers=bearer)
    assert accepted.status_code == 201, accepted.text
    assert http.get(f"{chat}.json?{q()}").json()["chat"]["info"]["agentName"] == "Natalie"

    # Wrong in any part, or another agent's name: the same 401 as a wrong password.
    wrong_password = http.post(f"{base}/login", json={"username": "natalie", "password": "nope"})
    assert wrong_password.status_code == 401
    for name in FIELDS:
        wrong = login(admin_server, http, "natalie", {**values, name: values[name][::-1]})
        assert (
            wrong.status_code == 401 and wrong.json()["error"]["message"] == wrong_password.json()["error"]["message"]
        )
    bob = http.post(
        f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/agents", headers=auth, json={"login": "bob", "password": "b"}
    )
    assert bob.status_code == 201
    assert login(admin_server, http, "bob", values).status_code == 401
    assert login(admin_server, http, "nobody", values).status_code == 401
    missing = http.post(f"{base}/login", json={"username": "natalie", "appKey": values["appKey"]})
    assert missing.status_code == 400

    # A disabled agent cannot log in either way.
    assert http.patch(natalie, headers=auth, json={"enabled": False}).status_code == 200
    assert login(admin_server, http, "natalie", values).status_code == 401
    assert http.patch(natalie, headers=auth, json={"enabled": True}).status_code == 200
    assert login(admin_server, http, "natalie", values).status_code == 200

    # Revoked: refused at the next login.
    assert http.delete(f"{natalie}/appCredentials/{values['id']}", headers=auth).status_code == 204
    assert login(admin_server, http, "natalie", values).status_code == 401
    assert http.get(f"{natalie}/appCredentials", headers=auth).json() == {"appCredentials": []}
    assert refused(http.delete(f"{natalie}/appCredentials/{values['id']}", headers=auth), 404)["internalCode"] == 12
    assert refused(http.delete(f"{natalie}/appCredentials/x", headers=auth), 404)["internalCode"] == 12
    assert refused(http.post(f"{natalie[:-1]}99/appCredentials", headers=auth), 404)["internalCode"] == 12
    assert refused(http.get(f"{admin_server.url}{ADMIN}/accounts/nope/agents/1/appCredentials", headers=auth), 404)


def test_app_credentials_from_the_cli_and_the_python_client(admin_server, http):
    made = parley(admin_server.database, "agent", "app-credentials", "create", "--account", ACCOUNT, "--agent", "1")
    assert made.returncode == 0, made.stderr
    values = orjson.loads(made.stdout)
    assert values["username"] == "natalie" and [len(values[name]) for name in FIELDS] == [32, 16, 32, 16]
    listed = parley(admin_server.database, "agent", "app-credentials", "list", "--account", ACCOUNT, "--agent", "1")
    assert listed.stdout.split("\t")[0] == str(values["id"]) and values["secret"] not in listed.stdout

    async def bot_login() -> dict:
        client = AgentClient(admin_server.url, ACCOUNT)
        try:
            body = await client.login_application("natalie", *(values[name] for name in FIELDS))
            await client.start_session()
            assert (await client.set_availability("Online"))["chat"] == "Online"
            return body
        finally:
            await client.close()

    assert asyncio.run(bot_login())["config"]["loginName"] == "natalie"

    revoked = parley(
        admin_server.database,
        "agent",
        "app-credentials",
        "revoke",
        "--account",
        ACCOUNT,
        "--agent",
        "1",
        "--id",
        str(values["id"]),
    )
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert login(admin_server, http, "natalie", values).status_code == 401  # read from the store: at once
    again = parley(
        admin_server.database, "agent", "app-credentials", "revoke", "--account", ACCOUNT, "--agent", "1", "--id", "1"
    )
    assert again.returncode != 0 and "no app credentials 1" in again.stderr
    nobody = parley(admin_server.database, "agent", "app-credentials", "create", "--account", ACCOUNT, "--agent", "9")
    assert nobody.returncode != 0 and "no agent 9" in nobody.stderr


def test_application_logins_count_in_the_login_limit(tmp_path, http):
    made: dict = {}

    async def credentials(admin) -> None:
        _, made["values"] = await AppCredentials(admin.store).create(ACCOUNT, 1)

    database = tmp_path / "parley.db"
    seed(database, credentials)
    server = Server(database, "--login-limit", "2/minute").start()
    try:
        values = made["values"].as_tree()
        wrong = {**values, "secret": "0" * 16}
        assert login(server, http, "natalie", wrong).status_code == 401
        assert login(server, http, "natalie", values).status_code == 200
        limited = login(server, http, "natalie", values)  # right, but the third attempt in the minute
        assert limited.status_code == 429 and limited.headers["retry-after"]
        assert limited.json()["error"]["internalCode"] == 27
    finally:
        server.stop()


def test_parley_bot_logs_in_with_the_file_app_credentials_create_printed(admin_server, http, tmp_path):
    made = parley(admin_server.database, "agent", "app-credentials", "create", "--account", ACCOUNT, "--agent", "1")
    assert made.returncode == 0, made.stderr
    file = tmp_path / "natalie.json"
    file.write_text(made.stdout)
    # No password: the bot can only be online through the credentials.
    http.patch(
        f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/agents/1", headers=admin_server.auth, json={"password": "x" * 40}
    )
    availability = f"{admin_server.url}/api/account/{ACCOUNT}/chat/availability.json?{q()}&skill=Sales"
    assert http.get(availability).json() == {"availability": False}
    command = [sys.executable, "-m", "parley", "bot", "--url", admin_server.url, "--account", ACCOUNT]
    command += ["--login", "natalie", "--app-credentials", str(file), "--until-stdin-closes"]
    bot = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while http.get(availability).json() != {"availability": True}:
            assert bot.poll() is None and time.monotonic() < deadline, bot.stdout.read() if bot.stdout else ""
            time.sleep(0.2)
    finally:
        assert bot.stdin is not None
        bot.stdin.close()
        try:
            bot.wait(timeout=15)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait()
