"""The administration commands work against a running server, which picks their changes up."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.e2e.conftest import free_port, q


def parley(database, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "parley", *args, "--database", f"sqlite:///{database}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def eventually(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_new_account_skill_and_agent_while_serving(server, http):
    key = parley(server.database, "account", "create", "--id", "shop1", "--name", "Shop", "--timezone", "Europe/Paris")
    assert len(key) == 32
    second_key = parley(server.database, "appkey", "create", "--account", "shop1")
    assert second_key != key
    skill_id = parley(server.database, "skill", "create", "--account", "shop1", "--name", "Billing")
    assert skill_id.isdigit()
    agent_id = parley(server.database, "agent", "create", "--account", "shop1", "--login", "zoe", "--password",
                      "pw-zoe", "--nickname", "Zoe", "--skills", "Billing", "--max-chats", "1")
    assert agent_id.isdigit()

    base = f"{server.url}/api/account/shop1"
    login = eventually(lambda: http.post(f"{base}/login", json={"username": "zoe", "password": "pw-zoe"}).status_code == 200)
    assert login
    bearer = http.post(f"{base}/login", json={"username": "zoe", "password": "pw-zoe"}).json()["bearer"]
    http.post(f"{base}/agentSession.json", json={}, headers={"Authorization": f"Bearer {bearer}"})
    for each in (key, second_key):
        assert http.get(f"{base}/chat/availability.json?v=1&appKey={each}&skill=Billing").json() == {"availability": True}
    assert http.get(f"{base}/chat/availability.json?{q()}").status_code == 401  # the demo key is not this account's


def test_admin_errors_are_clear(server):
    result = subprocess.run([sys.executable, "-m", "parley", "skill", "create", "--account", "nope", "--name", "X",
                             "--database", f"sqlite:///{server.database}"], capture_output=True, text=True)
    assert result.returncode == 2 and "no account nope" in result.stderr
    result = subprocess.run([sys.executable, "-m", "parley", "account", "create", "--id", "bad", "--timezone",
                             "Mars/Olympus", "--database", f"sqlite:///{server.database}"], capture_output=True, text=True)
    assert result.returncode == 2 and "time zone" in result.stderr


def test_a_second_server_on_the_same_database_or_port_refuses_to_start(server, tmp_path):
    def serve(database, port):
        return subprocess.run([sys.executable, "-m", "parley", "serve", "--port", str(port),
                               "--database", f"sqlite:///{database}"], capture_output=True, text=True, timeout=60)

    same_database = serve(server.database, free_port())
    assert same_database.returncode == 2 and "already serving" in same_database.stderr
    same_port = serve(tmp_path / "other.db", server.port)
    assert same_port.returncode == 2 and "already in use" in same_port.stderr
