"""The administration commands work against a running server, which picks their changes up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from importlib.metadata import version

import httpx
import pytest

from parley.config import Settings
from tests.e2e.conftest import database_url, free_port, q


def parley(database, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "parley", *args, "--database", database_url(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )
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
    agent_id = parley(
        server.database,
        "agent",
        "create",
        "--account",
        "shop1",
        "--login",
        "zoe",
        "--password",
        "pw-zoe",
        "--nickname",
        "Zoe",
        "--skills",
        "Billing",
        "--max-chats",
        "1",
    )
    assert agent_id.isdigit()

    base = f"{server.url}/api/account/shop1"
    login = eventually(
        lambda: http.post(f"{base}/login", json={"username": "zoe", "password": "pw-zoe"}).status_code == 200
    )
    assert login
    bearer = http.post(f"{base}/login", json={"username": "zoe", "password": "pw-zoe"}).json()["bearer"]
    http.post(f"{base}/agentSession.json", json={}, headers={"Authorization": f"Bearer {bearer}"})
    for each in (key, second_key):
        assert http.get(f"{base}/chat/availability.json?v=1&appKey={each}&skill=Billing").json() == {
            "availability": True
        }
    assert http.get(f"{base}/chat/availability.json?{q()}").status_code == 401  # the demo key is not this account's


def test_admin_errors_are_clear(server):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "skill",
            "create",
            "--account",
            "nope",
            "--name",
            "X",
            "--database",
            database_url(server.database),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "no account nope" in result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "account",
            "create",
            "--id",
            "bad",
            "--timezone",
            "Mars/Olympus",
            "--database",
            database_url(server.database),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "time zone" in result.stderr


def test_a_second_server_on_the_same_database_or_port_refuses_to_start(server, tmp_path, backend):
    def serve(database, port):
        return subprocess.run(
            [sys.executable, "-m", "parley", "serve", "--port", str(port), "--database", database_url(database)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    if backend == "sqlite":  # a PostgreSQL database is shared by design (nodes of a cluster)
        same_database = serve(server.database, free_port())
        assert same_database.returncode == 2 and "already serving" in same_database.stderr
    same_port = serve(tmp_path / "other.db", server.port)
    assert same_port.returncode == 2 and "already in use" in same_port.stderr


def run(*args: str, cwd=None, **env: str) -> subprocess.CompletedProcess:
    """``parley ARGS`` with only these PARLEY_* variables set (none of the caller's)."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("PARLEY_")}
    return subprocess.run(
        [sys.executable, "-m", "parley", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**clean, **env},
    )


def one_line_refusal(result: subprocess.CompletedProcess, start: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("parley: " + start), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_version_comes_from_the_package_metadata():
    result = run("--version")
    assert (result.returncode, result.stdout) == (0, f"parley {version('parley')}\n")


def test_help_shows_choices_defaults_and_variables():
    result = run("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # help lines are wrapped anywhere
    assert "--ring-mode [single|all]" in text and "--agent-default-availability [Online|Away|Occupied]" in text
    assert "default: single; env var: PARLEY_RING_MODE" in text and "--config FILE" in text
    assert "default: 8080; env var: PARLEY_PORT" in text
    for name in Settings.model_fields:  # every setting has a flag with help text, none generated by hand
        assert f"--{name.replace('_', '-')} " in text or f"--{name.replace('_', '-')} /" in text, name
        assert f"env var: PARLEY_{name.upper()}" in text, name
    assert "Surveys." in run("--help").stdout


@pytest.mark.parametrize(
    ("args", "env", "start"),
    [
        (
            ["--help"],
            {"PARLEY_RING_MODE": "bogus"},
            "ring-mode: must be one of single, all (got 'bogus' from PARLEY_RING_MODE)",
        ),
        (["account", "create", "--id", "x"], {"PARLEY_PORT": "abc"}, "port: "),
        (["serve", "--port", "abc"], {}, "port: 'abc' is not a valid integer"),
        (["serve", "--ring-mode", "sometimes"], {}, "ring-mode: "),
        (["serve", "--login-limit", "lots"], {}, "login-limit: 'lots' is not a limit"),
        (["serve", "--trusted-proxies", "10.0.0.0/33"], {}, "trusted-proxies: "),
        (["serve"], {"PARLEY_CHAT_REQUEST_LIMIT": "5/fortnight"}, "chat-request-limit: "),
        (["serve", "--json-always-arrays"], {"PARLEY_SMTP_STARTTLS": "maybe"}, "smtp-starttls: "),
        (["account", "create"], {}, "Missing option '--id'"),
        (["serve", "--colour"], {}, "No such option"),
        (["sever"], {}, "No such command 'sever'"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2(tmp_path, args, env, start):
    one_line_refusal(run(*args, cwd=tmp_path, **env), start)
    assert list(tmp_path.iterdir()) == []  # nothing created on the way


def test_a_secret_is_never_printed(tmp_path):
    result = run(
        "serve", "--sso-jwt-key", "jwt-secret", "--port", "0", cwd=tmp_path, PARLEY_SMTP_PASSWORD="hunter2-secret"
    )
    one_line_refusal(result, "port: ")
    assert "hunter2" not in result.stderr + result.stdout and "jwt-secret" not in result.stderr + result.stdout
    help_text = run("serve", "--help", PARLEY_SMTP_PASSWORD="hunter2-secret").stdout
    assert "--smtp-password TEXT" in help_text and "hunter2" not in help_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "no such file"),
        ("port = \n", "not valid TOML"),
        ("colour = 'blue'\n", "colour is not a setting"),
        ("port = 'x'\n", "port: "),
    ],
)
def test_config_file_errors_are_one_line(tmp_path, text, expected):
    config = tmp_path / "parley.toml"
    if text is not None:
        config.write_text(text)
    result = run("migrate", "--config", str(config), cwd=tmp_path)
    one_line_refusal(result, "")
    assert expected in result.stderr, result.stderr
    assert expected in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == (["parley.toml"] if text else [])


def test_admin_commands_refuse_a_missing_database_and_migrate_creates_it(tmp_path):
    result = run("account", "create", "--id", "shop", "--database", "sqlite:///./typo.db", cwd=tmp_path)
    one_line_refusal(
        result,
        "no database at ./typo.db; create it with `parley migrate --database sqlite:///./typo.db` or `parley serve`",
    )
    assert list(tmp_path.iterdir()) == []
    result = run("migrate", "--database", "sqlite:///./typo.db", cwd=tmp_path)
    assert result.returncode == 0 and f"database {tmp_path / 'typo.db'} is at schema version" in result.stderr
    result = run("account", "create", "--id", "shop", cwd=tmp_path, PARLEY_DATABASE="sqlite:///./typo.db")
    assert result.returncode == 0 and len(result.stdout.strip()) == 32
    assert result.stderr.strip().splitlines()[-1] == f"parley: database {tmp_path / 'typo.db'}"
    assert run("migrate", "--database", "sqlite:///./typo.db", cwd=tmp_path).returncode == 0  # again: a no-op


def test_postgresql_missing_database_or_silent_server_is_one_line_and_migrate_creates_the_schema(tmp_path):
    from parley.store.migrations import STEPS
    from tests import postgres

    missing = postgres.url_of("parley_t_missing").replace("postgresql://postgres@", "postgresql://postgres:hunter2@")
    for command in (["migrate"], ["serve", "--port", str(free_port())], ["account", "create", "--id", "shop"]):
        result = run(*command, "--database", missing, cwd=tmp_path)
        refusal = result.stderr.splitlines()[-1]  # the admin commands name their database first
        assert result.returncode == 2 and refusal.startswith("parley: PostgreSQL at "), result.stderr
        assert 'database "parley_t_missing" does not exist' in refusal
        assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
    silent = f"postgresql://postgres@127.0.0.1:{free_port()}/parley"  # nothing listens there
    result = run("migrate", "--database", silent, cwd=tmp_path)
    one_line_refusal(result, f"PostgreSQL at {silent} is unavailable")

    url = postgres.create_database()
    try:
        result = run("migrate", "--database", url, cwd=tmp_path)
        assert result.returncode == 0 and result.stderr.strip().endswith(
            f"database {url} is at schema version {len(STEPS)}"
        )
        result = run("account", "create", "--id", "shop", cwd=tmp_path, PARLEY_DATABASE=url)
        assert result.returncode == 0 and len(result.stdout.strip()) == 32
    finally:
        postgres.drop_database(url)
    assert list(tmp_path.iterdir()) == []  # no SQLite file made on the side


def test_the_database_comes_from_flag_then_variable_then_file(tmp_path):
    config = tmp_path / "parley.toml"
    config.write_text('database = "sqlite:///./from-file.db"\n')
    run("migrate", "--config", str(config), cwd=tmp_path)
    run("migrate", "--config", str(config), cwd=tmp_path, PARLEY_DATABASE="sqlite:///./from-env.db")
    run(
        "migrate",
        "--config",
        str(config),
        "--database",
        "sqlite:///./from-flag.db",
        cwd=tmp_path,
        PARLEY_DATABASE="sqlite:///./from-env.db",
    )
    run("migrate", cwd=tmp_path)
    created = sorted(path.name for path in tmp_path.iterdir() if path.suffix == ".db")
    assert created == ["from-env.db", "from-file.db", "from-flag.db", "parley.db"]


def test_serve_takes_its_settings_from_a_config_file_under_the_environment(tmp_path):
    file_port, env_port = free_port(), free_port()
    config = tmp_path / "parley.toml"
    config.write_text(
        f'port = {file_port}\nhost = "127.0.0.1"\ndatabase = "sqlite:///{tmp_path / "s.db"}"\n'
        "json_always_arrays = true\n"
    )
    clean = {name: value for name, value in os.environ.items() if not name.startswith("PARLEY_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "parley", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**clean, "PARLEY_PORT": str(env_port)},
    )
    try:
        url = f"http://127.0.0.1:{env_port}/health"
        assert eventually(lambda: _answers(url), seconds=30)
        assert not _answers(f"http://127.0.0.1:{file_port}/health")
    finally:
        server.terminate()
        assert server.wait(timeout=15) == 0
    assert (tmp_path / "s.db").is_file()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
