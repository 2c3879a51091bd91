"""Retention and erasure against real processes, on both store backends: ``parley retention sweep``
(dry run, then for real), a server's own sweep worker, ``parley erase`` and
``DELETE /admin/v1/accounts/{id}/visitors/{visitorId}``; checked by querying the store directly."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from parley.services.admin_tokens import AdminTokens
from parley.store import open_store
from tests import postgres
from tests.e2e.conftest import ACCOUNT, Server, database_url, q, query, seed
from tests.e2e.test_agent_api import Agent, start_chat
from tests.unit.store.test_retention import a_chat, an_offline_message

DAY = 24 * 3600 * 1000
TABLES = (
    ("chats", "id"),
    ("events", "chat_id"),
    ("survey_submissions", "chat_id"),
    ("transcript_requests", "chat_id"),
    ("outbox", "chat_id"),
)


def parley(database, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args, "--database", database_url(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def stored(database, chat_ids: list[str]) -> dict[str, int]:
    """Every row about these chats, per table, read from the store directly."""
    return {
        table: sum(query(database, f"SELECT count(*) FROM {table} WHERE {column} = $1", c)[0][0] for c in chat_ids)
        for table, column in TABLES
    }


NOTHING = {table: 0 for table, _ in TABLES}
# What ``a_chat`` writes: the chat, 3 events, an exit answer, a transcript request and its mail.
WHOLE = {"chats": 1, "events": 3, "survey_submissions": 1, "transcript_requests": 1, "outbox": 1}


def times(rows: dict[str, int], n: int) -> dict[str, int]:
    return {table: count * n for table, count in rows.items()}


def write(database, make) -> list:
    """Run ``make(store)`` on the store of this database (as a process beside the server would)."""

    async def run():
        store = open_store(database_url(database))
        await store.open()
        try:
            return await make(store)
        finally:
            await store.close()

    return postgres.run_sync(run())


def history(database, now_ms: int):
    """Chats of the demo account ended at several ages, one open, offline messages old and new."""

    async def make(store):
        old = [await a_chat(store, ACCOUNT, 100 + i, now_ms - (40 + i) * DAY) for i in range(3)]
        kept = [
            await a_chat(store, ACCOUNT, 200, now_ms - 29 * DAY),
            await a_chat(store, ACCOUNT, 201, now_ms - DAY),
        ]
        await an_offline_message(store, ACCOUNT, now_ms - 31 * DAY)
        await an_offline_message(store, ACCOUNT, now_ms - DAY)
        return old, kept

    return write(database, make)


def offline(database) -> int:
    return query(database, "SELECT count(*) FROM survey_submissions WHERE chat_id IS NULL")[0][0]


def test_the_cli_counts_then_deletes_exactly_the_chats_past_retention(tmp_path):
    database = tmp_path / "parley.db"
    seed(database)
    old, kept = history(database, int(time.time() * 1000))
    assert "keeps its chats forever" in parley(database, "retention", "sweep", "--account", ACCOUNT).stderr
    assert parley(database, "retention", "sweep").stdout.strip() == "no account has a retention set (retentionDays)"

    updated = parley(database, "account", "update", "--id", ACCOUNT, "--retention-days", "30")
    assert updated.returncode == 0 and "retention_days=30" in updated.stdout, updated.stderr
    assert "retention_days=30" in parley(database, "account", "show", "--id", ACCOUNT).stdout
    bad = parley(database, "account", "update", "--id", ACCOUNT, "--retention-days", "36501")
    assert bad.returncode != 0 and "retentionDays is 1 to 36500" in bad.stderr

    dry = parley(database, "retention", "sweep", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    expected = "3 chats, 9 events, 4 submissions, 3 transcripts, 4 mails, 0 webhooks"
    assert dry.stdout.strip() == f"account {ACCOUNT}: would delete {expected}"
    assert stored(database, old) == times(WHOLE, 3) and offline(database) == 2  # nothing deleted

    swept = parley(database, "retention", "sweep", "--account", ACCOUNT)
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout.strip() == f"account {ACCOUNT}: deleted {expected}"
    assert stored(database, old) == NOTHING
    assert stored(database, kept) == times(WHOLE, 2)
    assert offline(database) == 1
    again = parley(database, "retention", "sweep")
    assert again.stdout.strip() == f"account {ACCOUNT}: deleted " + ", ".join(
        f"0 {name}" for name in ("chats", "events", "submissions", "transcripts", "mails", "webhooks")
    )
    assert "no account nope" in parley(database, "retention", "sweep", "--account", "nope").stderr


def test_a_server_sweeps_by_itself_and_counts_it(tmp_path, http):
    database = tmp_path / "parley.db"

    async def thirty_days(admin) -> None:
        await admin.update_account(ACCOUNT, retention_days=30)

    seed(database, thirty_days)
    old, kept = history(database, int(time.time() * 1000))
    server = Server(database, "--retention-sweep-interval", "0.2").start()
    try:
        deadline = time.monotonic() + 30
        while stored(database, old)["chats"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stored(database, old) == NOTHING
        assert stored(database, kept) == times(WHOLE, 2)
        assert offline(database) == 1
        metrics = http.get(f"{server.url}/metrics").text
        assert "parley_retention_deleted_chats_total 3.0" in metrics
        assert "parley_retention_deleted_events_total 9.0" in metrics
    finally:
        server.stop()
    assert "retention: account 12345: deleted 3 chats, 9 events" in server.log.read_text()


@pytest.fixture
def admin_server(tmp_path):
    made = {}

    async def token(admin) -> None:
        made["token"] = (await AdminTokens(admin.store).create("test suite"))[1]

    database = tmp_path / "parley.db"
    seed(database, token)
    instance = Server(database).start()
    instance.auth = {"Authorization": f"Bearer {made['token']}"}
    yield instance
    instance.stop()


def everything_about(database, visitor_id: int, chat_ids: list[str]) -> int:
    """Rows anywhere in the store that name this visitor or one of these chats."""
    found = query(database, "SELECT count(*) FROM visitors WHERE id = $1", visitor_id)[0][0]
    found += query(database, "SELECT count(*) FROM chats WHERE visitor_id = $1", visitor_id)[0][0]
    return found + sum(stored(database, chat_ids).values())


def test_erasing_a_visitor_through_the_api_ends_its_chat_and_leaves_nothing(admin_server, http):
    server, database = admin_server, admin_server.database
    now = int(time.time() * 1000)
    earlier = write(database, lambda store: a_chat(store, ACCOUNT, 7, now - 3 * DAY))
    other = write(database, lambda store: a_chat(store, ACCOUNT, 8, now - 3 * DAY))
    Agent(server, http)  # someone to ring: the visitor's new chat stays open
    location = start_chat(server, http, skill="Sales", visitorId=7)
    live = location.rsplit("/", 1)[1]
    line = http.post(f"{location}/events.json?{q()}", json={"event": {"@type": "line", "text": "my address is..."}})
    assert line.status_code == 201
    assert query(database, "SELECT count(*) FROM chats WHERE visitor_id = 7 AND ended_ms IS NULL") == [(1,)]
    url = f"{server.url}/admin/v1/accounts/{ACCOUNT}/visitors"

    counted = http.delete(f"{url}/7?dryRun=true", headers=server.auth)
    assert counted.status_code == 200, counted.text
    assert counted.json()["erasure"] == {
        "visitorId": 7,
        "dryRun": True,
        "chats": 2,
        "events": 3 + len(http.get(f"{location}/events.json?{q('from=0')}").json()["events"]["event"]),
        "submissions": 1,
        "transcripts": 1,
        "mails": 1,
        "participants": 0,
        "visitors": 1,
        "webhooks": 0,
    }
    assert http.get(f"{location}.json?{q()}").status_code == 200  # a dry run changes nothing

    erased = http.delete(f"{url}/7", headers=server.auth)
    assert erased.status_code == 200, erased.text
    body = erased.json()["erasure"]
    assert (body["dryRun"], body["chats"], body["visitors"]) == (False, 2, 1)
    assert body["events"] > counted.json()["erasure"]["events"]  # the open chat was ended first
    assert everything_about(database, 7, [earlier, live]) == 0
    assert stored(database, [other]) == WHOLE  # another visitor's chat: untouched
    assert query(database, "SELECT count(*) FROM visitors WHERE id = 8") == [(1,)]
    # The running server dropped it from its view: the live API no longer knows the chat.
    assert http.get(f"{location}.json?{q()}").status_code == 404

    assert http.delete(f"{url}/7", headers=server.auth).status_code == 404  # nothing left of it
    assert http.delete(f"{url}/abc", headers=server.auth).status_code == 404
    assert http.delete(f"{server.url}/admin/v1/accounts/nope/visitors/8", headers=server.auth).status_code == 404
    assert http.delete(f"{url}/8?dryRun=maybe", headers=server.auth).status_code == 400
    assert http.delete(f"{url}/8").status_code == 401
    assert stored(database, [other]) == WHOLE


def test_the_cli_erases_a_visitor_but_not_while_its_chat_is_open(tmp_path):
    database = tmp_path / "parley.db"
    seed(database)
    now = int(time.time() * 1000)
    ended = write(database, lambda store: a_chat(store, ACCOUNT, 7, now - DAY))
    open_chat = write(database, lambda store: a_chat(store, ACCOUNT, 7, None))
    other = write(database, lambda store: a_chat(store, ACCOUNT, 8, now - DAY))

    refused = parley(database, "erase", "--account", ACCOUNT, "--visitor", "7")
    assert refused.returncode != 0 and "chat in progress" in refused.stderr
    assert stored(database, [ended, open_chat]) == times(WHOLE, 2)
    query(database, "UPDATE chats SET state = 'ended', ended_ms = $1 WHERE id = $2", now, open_chat)

    dry = parley(database, "erase", "--account", ACCOUNT, "--visitor", "7", "--dry-run")
    counts = "2 chats, 6 events, 2 submissions, 2 transcripts, 2 mails, 0 participants, 1 visitors, 0 webhooks"
    assert dry.stdout.strip() == f"visitor 7 of account {ACCOUNT}: would delete {counts}", dry.stderr
    assert stored(database, [ended, open_chat]) == times(WHOLE, 2)
    erased = parley(database, "erase", "--account", ACCOUNT, "--visitor", "7")
    assert erased.stdout.strip() == f"visitor 7 of account {ACCOUNT}: deleted {counts}", erased.stderr
    assert everything_about(database, 7, [ended, open_chat]) == 0
    assert stored(database, [other]) == WHOLE
    assert "no visitor 7" in parley(database, "erase", "--account", ACCOUNT, "--visitor", "7").stderr


def test_a_server_beside_the_cli_forgets_the_chats_it_erased(tmp_path):
    """An ended chat still readable on the live API (within ended_retention) disappears there too."""
    database = tmp_path / "parley.db"
    seed(database)
    server = Server(database).start()
    try:
        with httpx.Client(timeout=20) as http:
            location = start_chat(server, http, skill="Sales")  # nobody logged in: it ends at once
            assert http.get(f"{location}.json?{q()}").status_code == 200  # readable for an hour after its end
            ((visitor, ended_ms),) = query(
                database, "SELECT visitor_id, ended_ms FROM chats WHERE id = $1", location.rsplit("/", 1)[1]
            )
            assert ended_ms is not None
            erased = parley(database, "erase", "--account", ACCOUNT, "--visitor", str(visitor))
            assert erased.returncode == 0, erased.stderr
            deadline = time.monotonic() + 30
            while http.get(f"{location}.json?{q()}").status_code != 404 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert http.get(f"{location}.json?{q()}").status_code == 404
    finally:
        server.stop()


def test_the_retention_setting_through_the_api(admin_server, http):
    account = f"{admin_server.url}/admin/v1/accounts/{ACCOUNT}"

    def patch(value) -> httpx.Response:
        return http.patch(account, headers=admin_server.auth, json={"retentionDays": value})

    assert http.get(account, headers=admin_server.auth).json()["account"]["retentionDays"] is None  # forever
    assert patch(30).json()["account"]["retentionDays"] == 30
    assert http.get(account, headers=admin_server.auth).json()["account"]["retentionDays"] == 30
    assert (
        http.patch(account, headers=admin_server.auth, json={"name": "Demo"}).json()["account"]["retentionDays"] == 30
    )
    for bad in (-1, 36501, "30", True, 1.5):
        answer = patch(bad)
        assert answer.status_code == 400 and answer.json()["error"]["internalCode"] == 11, (bad, answer.text)
    assert patch(0).json()["account"]["retentionDays"] is None
    assert patch(7).status_code == 200 and patch(None).json()["account"]["retentionDays"] is None
    assert query(admin_server.database, "SELECT retention_days FROM accounts WHERE id = $1", ACCOUNT) == [(None,)]
    assert "retention_days=forever" in parley(admin_server.database, "account", "show", "--id", ACCOUNT).stdout
