"""The admin API (/admin/v1/) against a real server: admin tokens made, listed and revoked by the
CLI, what the guard refuses (no token, a wrong one, a revoked one, app keys, agent bearers), and
the resources it serves, on both store backends."""

from __future__ import annotations

import subprocess
import sys

import pytest

from parley.services.admin_tokens import AdminTokens
from tests.e2e.conftest import ACCOUNT, KEY, Server, database_url, query, seed

ADMIN = "/admin/v1"


def parley(database, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "parley", *args, "--database", database_url(database)],
                          capture_output=True, text=True, timeout=60)


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
    login = http.post(f"{admin_server.url}/api/account/{ACCOUNT}/login",
                      json={"username": "natalie", "password": "natalie"}).json()
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
    assert shown.json() == {"account": {"id": ACCOUNT, "name": "Demo", "timezone": "UTC", "defaultSkill": None,
                                        "offlineEmail": None}}
    assert refused(http.get(f"{base}/nope", headers=admin_server.auth), 404)["internalCode"] == 12
    refused(http.delete(f"{base}/{ACCOUNT}", headers=admin_server.auth), 405)
    refused(http.get(f"{admin_server.url}{ADMIN}/nothing", headers=admin_server.auth), 404)
