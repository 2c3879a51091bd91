"""Webhooks against a real server and a real receiver (a threaded http.server on a loopback port in
this process): a whole conversation's events arrive signed, in order per chat, filtered by each
subscription's kinds; a receiver that is down or answers 500 gets them later, still in order, none
lost, also across a server restart; the admin routes refuse garbage; the CLI mirrors them."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from parley.services.admin_tokens import AdminTokens
from tests.e2e.conftest import ACCOUNT, Server, database_url, free_port, q, query, seed
from tests.e2e.test_agent_api import Agent, start_chat
from tests.e2e.test_surveys import EXIT, OFFLINE, PUT, import_survey

ADMIN = "/admin/v1"
ALL = [
    "chat.requested",
    "chat.accepted",
    "chat.line",
    "chat.transferred",
    "chat.ended",
    "survey.submitted",
    "offline.submitted",
]
WAIT_S = 60  # a bound on waiting for deliveries (not a timing assertion: it only stops a hang)


class Receiver:
    """Records every POST (headers, body) and answers ``status``; stops and starts on one port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.status = 200
        self.received: list[tuple[dict, bytes, int]] = []  # (headers, body, the status answered)
        # Posts whose body holds ``slow`` wait for ``gate`` before answering (a slow receiver).
        self.slow: bytes | None = None
        self.gate = threading.Event()
        self.held = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.slow is not None and receiver.slow in body:
                    receiver.held += 1
                    receiver.gate.wait(WAIT_S)
                with receiver._lock:
                    status = receiver.status
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:  # quiet
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()  # a held post answers now
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def taken(self) -> list[tuple[dict, dict]]:
        """(headers, parsed body) of the posts answered 2xx, in arrival order."""
        with self._lock:
            return [(h, json.loads(b)) for h, b, s in self.received if 200 <= s < 300]

    def wait(self, predicate, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"gave up waiting for {what}; received {len(self.received)}")


@pytest.fixture
def receiver():
    instance = Receiver()
    yield instance
    instance.stop()


def verified(headers: dict, body: bytes, secret: str) -> bool:
    """The receiver's check, as docs/admin.md shows it."""
    expected = hmac.new(
        secret.encode(), headers["x-parley-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["x-parley-signature"], "sha256=" + expected)


@pytest.fixture
def hooked(tmp_path):
    """A seeded server with every survey kind, bob (Sales, Support), and an admin token."""
    made = {}

    async def extra(admin) -> None:
        await admin.create_agent(ACCOUNT, "bob", "bob-secret", "Bob", ["Sales", "Support"], 2)
        made["token"] = (await AdminTokens(admin.store).create("webhooks"))[1]

    database = tmp_path / "parley.db"
    seed(database, extra)
    import_survey(database, tmp_path, "exit", EXIT)
    import_survey(database, tmp_path, "offline", OFFLINE)
    instance = Server(database).start()
    instance.auth = {"Authorization": f"Bearer {made['token']}"}
    instance.hooks = f"{instance.url}{ADMIN}/accounts/{ACCOUNT}/webhooks"
    yield instance
    instance.stop()


def subscribe(server, http, url: str, events: list[str] | None = None) -> dict:
    body = {"url": url} if events is None else {"url": url, "events": events}
    created = http.post(server.hooks, headers=server.auth, json=body)
    assert created.status_code == 201, created.text
    hook = created.json()["webhook"]
    assert created.headers["location"].endswith(f"/webhooks/{hook['id']}")
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    return hook


def deliveries(server, http, hook_id: int, **params) -> dict:
    answer = http.get(f"{server.hooks}/{hook_id}/deliveries", headers=server.auth, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def short_chat(server, http, lines: int = 2) -> str:
    """A chat requested, accepted by Natalie, ``lines`` visitor lines, ended by the visitor."""
    natalie = Agent(server, http)
    chat_uri = start_chat(server, http)
    agent_uri = natalie.post(f"{natalie.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    assert agent_uri
    for n in range(lines):
        sent = http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": f"line {n}"}})
        assert sent.status_code == 201
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    return chat_uri.rsplit("/", 1)[1]


def test_a_conversation_arrives_signed_in_order_and_filtered_by_kind(hooked, receiver, http):
    receiver.start()
    everything = subscribe(hooked, http, receiver.url)
    ends = subscribe(hooked, http, receiver.url + "?only=ends", ["offline.submitted", "chat.ended"])
    assert ends["events"] == ["chat.ended", "offline.submitted"]  # kept in the documented order
    off = subscribe(hooked, http, receiver.url + "?off")
    assert (
        http.patch(f"{hooked.hooks}/{off['id']}", headers=hooked.auth, json={"active": False}).json()["webhook"][
            "active"
        ]
        is False
    )

    natalie, bob = Agent(hooked, http), Agent(hooked, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})  # Natalie takes the chat
    chat_uri = start_chat(hooked, http, skill="Sales")
    chat_id = chat_uri.rsplit("/", 1)[1]
    mine = natalie.post(f"{natalie.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    bob.put("/availability", {"availability": {"chat": "Online"}})  # Bob takes the transfer
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "Where is my parcel?"}})
    natalie.post(f"{mine}/events", {"event": {"@type": "line", "text": "Let me ask Support"}})
    natalie.post(f"{mine}/events", {"event": {"@type": "line", "text": "VIP", "subType": "ONLY_TO_REP"}})
    assert natalie.post(f"{mine}/transfer", {"transfer": {"skill": {"id": 2}}}).status_code == 200
    bobs = bob.post(f"{bob.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    bob.post(f"{bobs}/events", {"event": {"@type": "line", "text": "It ships today"}})
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    answered = http.post(
        f"{chat_uri}/exitSurvey.json?{q()}",
        headers=PUT,
        json={"survey": {"id": 361348, "question": {"id": 4991315, "answer": "no"}}},
    )
    assert answered.status_code == 200, answered.text
    offline = http.post(
        f"{hooked.url}/api/account/{ACCOUNT}/chat/offlineSurvey.json?{q()}",
        headers=PUT,
        json={
            "survey": {
                "id": 361346,
                "question": [
                    {"id": 4991310, "answer": "Ann"},
                    {"id": 4991311, "answer": "ann@example"},
                    {"id": 4991312, "answer": "Call me"},
                ],
            }
        },
    )
    assert offline.status_code == 200, offline.text

    expected_chat = [
        "chat.requested",
        "chat.accepted",
        "chat.line",
        "chat.line",
        "chat.line",
        "chat.transferred",
        "chat.accepted",
        "chat.line",
        "chat.ended",
        "survey.submitted",
    ]
    total = len(expected_chat) + 1 + 2  # and the offline message; two to the second subscription
    receiver.wait(lambda: len(receiver.taken()) >= total, "every delivery")
    assert query(hooked.database, "SELECT COUNT(*) FROM webhook_deliveries")[0][0] == total
    receiver.wait(
        lambda: {row[0] for row in query(hooked.database, "SELECT status FROM webhook_deliveries")} == {"delivered"},
        "every delivery marked",
    )
    assert len(receiver.taken()) == total  # a delivery marked delivered is not posted again

    with receiver._lock:
        raw = list(receiver.received)
    # Every post is signed with its subscription's secret over timestamp.body, and names its kind.
    secrets = {everything["id"]: everything["secret"], ends["id"]: ends["secret"]}
    ids_by_hook: dict[int, list[int]] = {everything["id"]: [], ends["id"]: []}
    kinds_by_hook: dict[int, list[str]] = {everything["id"]: [], ends["id"]: []}
    bodies: dict[int, list[dict]] = {everything["id"]: [], ends["id"]: []}
    stored = dict(query(hooked.database, "SELECT id, hook_id FROM webhook_deliveries"))
    for headers, body, _ in raw:
        delivery_id = int(headers["x-parley-delivery"])
        hook_id = stored[delivery_id]
        assert verified(headers, body, secrets[hook_id])
        assert not verified(headers, body, secrets[ends["id"] if hook_id == everything["id"] else everything["id"]])
        assert headers["content-type"] == "application/json"
        assert abs(int(headers["x-parley-timestamp"]) - time.time()) < 3600
        parsed = json.loads(body)
        assert parsed["event"] == headers["x-parley-event"] and parsed["accountId"] == ACCOUNT
        ids_by_hook[hook_id].append(delivery_id)
        kinds_by_hook[hook_id].append(parsed["event"])
        bodies[hook_id].append(parsed)
    # Each once; the chat's in order (the offline message is no part of it and may pass them).
    assert len(set(ids_by_hook[everything["id"]])) == len(ids_by_hook[everything["id"]])
    of_the_chat = [
        i for i, b in zip(ids_by_hook[everything["id"]], bodies[everything["id"]], strict=True) if "chat" in b
    ]
    assert of_the_chat == sorted(of_the_chat)
    chat_kinds = [b["event"] for b in bodies[everything["id"]] if "chat" in b]
    assert chat_kinds == expected_chat
    assert sorted(kinds_by_hook[everything["id"]]) == sorted(expected_chat + ["offline.submitted"])
    assert sorted(kinds_by_hook[ends["id"]]) == ["chat.ended", "offline.submitted"]
    assert not query(hooked.database, "SELECT id FROM webhook_deliveries WHERE hook_id = $1", off["id"])

    # What the bodies say.
    story = [b for b in bodies[everything["id"]] if b.get("chat", {}).get("id") == chat_id]
    requested, accepted, asked, answered_line, private, transferred, taken_over, shipped, ended, survey = story
    assert requested["chat"]["state"] == "waiting" and requested["chat"]["visitorId"]
    assert accepted["agentId"] == 1 and accepted["chat"]["agentId"] == 1
    assert (asked["line"]["source"], asked["line"]["text"]) == ("visitor", "Where is my parcel?")
    assert (answered_line["line"]["source"], answered_line["line"]["by"]) == ("agent", "Natalie")
    assert (private["line"]["text"], private["line"]["agentsOnly"]) == ("VIP", True)
    assert transferred["transfer"] == {"reason": "skill", "skillId": 2}
    assert taken_over["agentId"] == taken_over["chat"]["agentId"] != 1
    assert shipped["line"]["by"] == "Bob"
    assert ended["chat"]["state"] == "ended" and ended["endTime"] >= ended["chat"]["startTime"]
    assert survey["survey"]["kind"] == "exit" and survey["survey"]["answers"][0]["answer"] == ["no"]
    (left,) = [b for b in bodies[everything["id"]] if b["event"] == "offline.submitted"]
    assert [a["answer"] for a in left["survey"]["answers"]] == [["Ann"], ["ann@example"], ["Call me"]]

    # The log: all delivered at the first attempt, with the receiver's code.
    log = deliveries(hooked, http, everything["id"])["deliveries"]
    assert [d["id"] for d in log] == sorted(ids_by_hook[everything["id"]], reverse=True)
    assert {(d["status"], d["attempts"], d["responseCode"], d["lastError"]) for d in log} == {
        ("delivered", 1, 200, None)
    }
    assert all(d["doneAt"] and d["nextAttemptAt"] is None for d in log)


def test_a_receiver_that_is_down_then_failing_gets_everything_later_in_order(hooked, receiver, http):
    hook = subscribe(hooked, http, receiver.url)  # nobody listens on its port yet
    chat_id = short_chat(hooked, http, lines=3)
    expected = ["chat.requested", "chat.accepted", "chat.line", "chat.line", "chat.line", "chat.ended"]

    def log() -> list[dict]:
        return deliveries(hooked, http, hook["id"])["deliveries"]

    receiver.wait(lambda: log()[-1]["attempts"] >= 2, "two refused attempts")
    first = log()[-1]
    assert first["status"] == "pending" and first["responseCode"] is None and first["lastError"]
    assert first["nextAttemptAt"] is not None
    # In order: nothing after the first delivery of the chat was tried while it waits.
    assert all(d["attempts"] == 0 for d in log()[:-1])

    receiver.status = 500
    receiver.start()
    receiver.wait(lambda: len(receiver.received) >= 1, "a post answered 500")
    receiver.wait(lambda: log()[-1]["responseCode"] == 500, "the 500 in the log")
    assert log()[-1]["lastError"] == "the receiver answered 500"
    receiver.status = 200
    receiver.wait(lambda: len(receiver.taken()) >= len(expected), "every delivery")
    taken = receiver.taken()
    assert [b["event"] for _, b in taken] == expected
    assert {b["chat"]["id"] for _, b in taken} == {chat_id}
    ids = [int(h["x-parley-delivery"]) for h, _ in taken]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    with receiver._lock:
        assert all(verified(h, body, hook["secret"]) for h, body, _ in receiver.received)
    final = log()
    assert {d["status"] for d in final} == {"delivered"}
    assert final[-1]["attempts"] >= 3 and final[-1]["responseCode"] == 200 and final[-1]["lastError"] is None


def test_a_slow_chat_holds_up_only_its_own_deliveries(hooked, receiver, http):
    hook = subscribe(hooked, http, receiver.url, ["chat.line"])
    receiver.slow = b"take your time"
    receiver.start()
    natalie = Agent(hooked, http)
    slow_uri, fast_uri = start_chat(hooked, http), start_chat(hooked, http)
    for _ in range(2):
        natalie.post(f"{natalie.session}/incomingRequests", {})
    for uri, texts in ((slow_uri, ["take your time", "slow 2", "slow 3"]), (fast_uri, ["fast 1", "fast 2", "fast 3"])):
        for text in texts:
            sent = http.post(f"{uri}/events.json?{q()}", json={"event": {"@type": "line", "text": text}})
            assert sent.status_code == 201

    def lines() -> list[str]:
        return [b["line"]["text"] for _, b in receiver.taken()]

    receiver.wait(lambda: lines() == ["fast 1", "fast 2", "fast 3"], "the other chat's lines")
    assert receiver.held >= 1  # the slow chat's first line is being answered, its next ones wait for it
    receiver.gate.set()
    receiver.wait(lambda: {"slow 2", "slow 3"} <= set(lines()), "the slow chat's lines")
    slow = [text for text in lines() if not text.startswith("fast")]
    first_seen = list(dict.fromkeys(slow))  # a post the sender gave up on (timeout) may come twice
    assert first_seen == ["take your time", "slow 2", "slow 3"]
    with receiver._lock:
        assert all(verified(h, body, hook["secret"]) for h, body, _ in receiver.received)


def test_pending_deliveries_survive_a_restart(hooked, receiver, http):
    hook = subscribe(hooked, http, receiver.url)
    chat_id = short_chat(hooked, http, lines=1)
    receiver.wait(
        lambda: query(hooked.database, "SELECT MAX(attempts) FROM webhook_deliveries")[0][0] >= 1, "a refused attempt"
    )
    pending = query(hooked.database, "SELECT id, kind FROM webhook_deliveries WHERE status = 'pending' ORDER BY id")
    assert [kind for _, kind in pending] == ["chat.requested", "chat.accepted", "chat.line", "chat.ended"]
    hooked.restart()
    receiver.start()
    receiver.wait(lambda: len(receiver.taken()) >= len(pending), "the deliveries queued before the restart")
    taken = receiver.taken()
    assert [int(h["x-parley-delivery"]) for h, _ in taken] == [delivery_id for delivery_id, _ in pending]
    assert {b["chat"]["id"] for _, b in taken} == {chat_id}
    with receiver._lock:
        assert all(verified(h, body, hook["secret"]) for h, body, _ in receiver.received)


def test_admin_routes_refuse_garbage_and_other_accounts(hooked, receiver, http):
    auth, hooks = hooked.auth, hooked.hooks

    def refused(answer, status: int) -> str:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/json"
        return answer.json()["error"]["message"]

    refused(http.get(hooks), 401)
    refused(http.post(hooks, json={"url": receiver.url}), 401)
    refused(http.get(hooks, headers={"Authorization": "Bearer padm_" + "0" * 64}), 401)
    for body, message in [
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": "not a url"}, "spaces"),
        ({"url": "http://"}, "no host"),
        ({"url": "http://user:pw@example.com/"}, "credentials"),
        ({"url": "http://example.com:99999/"}, "not a valid URL"),
        ({"url": "https://example.com/" + "x" * 2000}, "longer than"),
        ({"url": 7}, "http:// or https://"),
        ({}, "http:// or https://"),
        ({"url": receiver.url, "events": ["chat.line", "chat.exploded"]}, "unknown event 'chat.exploded'"),
        ({"url": receiver.url, "events": []}, "non-empty list"),
        ({"url": receiver.url, "events": "chat.line"}, "non-empty list"),
        ({"url": receiver.url, "secret": "mine"}, "unknown field 'secret'"),
    ]:
        assert message in refused(http.post(hooks, headers=auth, json=body), 400), body
    refused(http.post(hooks, headers={**auth, "Content-Type": "application/json"}, content=b"{nope"), 400)
    assert http.get(hooks, headers=auth).json() == {"webhooks": []}  # nothing was made

    hook = subscribe(hooked, http, receiver.url, ["chat.line"])
    shown = http.get(f"{hooks}/{hook['id']}", headers=auth).json()["webhook"]
    assert "secret" not in shown and shown == {k: v for k, v in hook.items() if k != "secret"}
    assert hook["secret"] not in http.get(hooks, headers=auth).text
    # Another account's admin path does not reach it; unknown ids are 404.
    made = http.post(f"{hooked.url}{ADMIN}/accounts", headers=auth, json={"id": "555"})
    assert made.status_code == 201
    other = f"{hooked.url}{ADMIN}/accounts/555/webhooks/{hook['id']}"
    for method in ("GET", "PATCH", "DELETE"):
        refused(http.request(method, other, headers=auth, json={"active": False} if method == "PATCH" else None), 404)
    refused(http.get(other + "/deliveries", headers=auth), 404)
    refused(http.post(other + "/test", headers=auth), 404)
    refused(http.get(f"{hooks}/999", headers=auth), 404)
    refused(http.get(f"{hooks}/abc", headers=auth), 404)
    refused(http.get(f"{hooked.url}{ADMIN}/accounts/nope/webhooks", headers=auth), 404)
    refused(http.post(f"{hooked.url}{ADMIN}/accounts/nope/webhooks", headers=auth, json={"url": receiver.url}), 404)
    assert http.get(f"{hooked.url}{ADMIN}/accounts/555/webhooks", headers=auth).json() == {"webhooks": []}

    # Changes: the fields given; garbage refused and nothing changed.
    one = f"{hooks}/{hook['id']}"
    assert "active is true or false" in refused(http.patch(one, headers=auth, json={"active": "no"}), 400)
    assert "not cleared" in refused(http.patch(one, headers=auth, json={"url": None}), 400)
    assert "http:// or https://" in refused(http.patch(one, headers=auth, json={"url": "gopher://x"}), 400)
    assert "unknown field" in refused(http.patch(one, headers=auth, json={"secret": "x"}), 400)
    changed = http.patch(
        one, headers=auth, json={"events": ["chat.ended", "chat.requested"], "url": receiver.url + "2"}
    )
    assert changed.status_code == 200
    assert changed.json()["webhook"]["events"] == ["chat.requested", "chat.ended"]
    assert changed.json()["webhook"]["url"] == receiver.url + "2"

    # The delivery log pages newest first; bad paging is 400.
    receiver.start()
    for _ in range(3):
        short_chat(hooked, http, lines=0)
    receiver.wait(lambda: len(receiver.taken()) >= 6, "six deliveries")
    first = deliveries(hooked, http, hook["id"], limit=4)
    assert len(first["deliveries"]) == 4 and "next" in first
    rest = deliveries(hooked, http, hook["id"], limit=4, before=first["next"])
    assert len(rest["deliveries"]) == 2 and "next" not in rest
    ids = [d["id"] for d in first["deliveries"] + rest["deliveries"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    for params in ({"limit": 0}, {"limit": 501}, {"limit": "x"}, {"before": "-1"}):
        refused(http.get(f"{one}/deliveries", headers=auth, params=params), 400)

    # The test post: signed, answered; a failing receiver is reported, not an error.
    tested = http.post(f"{one}/test", headers=auth)
    assert tested.json() == {"test": {"delivered": True, "responseCode": 200, "error": None}}
    headers, body, _ = receiver.received[-1]
    assert headers["x-parley-event"] == "webhook.test" and verified(headers, body, hook["secret"])
    receiver.status = 503
    assert http.post(f"{one}/test", headers=auth).json()["test"] == {
        "delivered": False,
        "responseCode": 503,
        "error": None,
    }
    receiver.stop()
    down = http.post(f"{one}/test", headers=auth).json()["test"]
    assert down["delivered"] is False and down["responseCode"] is None and "Connect" in down["error"]

    # Deleted: gone with its log.
    assert http.delete(one, headers=auth).status_code == 204
    refused(http.get(one, headers=auth), 404)
    refused(http.delete(one, headers=auth), 404)
    assert query(hooked.database, "SELECT COUNT(*) FROM webhook_deliveries")[0][0] == 0


def parley(database, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args, "--database", database_url(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_creates_lists_tests_and_deletes(tmp_path, receiver):
    database = tmp_path / "parley.db"
    seed(database)
    made = parley(database, "webhook", "create", "--account", ACCOUNT, "--url", receiver.url, "--events", "chat.line")
    assert made.returncode == 0, made.stderr
    hook_id, secret = made.stdout.strip().split("\t")
    assert secret.startswith("whsec_") and "not shown again" in made.stderr
    listed = parley(database, "webhook", "list", "--account", ACCOUNT)
    assert listed.stdout.strip() == f"{hook_id}\tactive\tchat.line\t{receiver.url}" and secret not in listed.stdout
    bad = parley(database, "webhook", "create", "--account", ACCOUNT, "--url", receiver.url, "--events", "chat.nope")
    assert bad.returncode == 2 and "unknown event 'chat.nope'" in bad.stderr
    nobody = parley(database, "webhook", "create", "--account", "nope", "--url", receiver.url)
    assert nobody.returncode == 2 and "no account nope" in nobody.stderr

    down = parley(database, "webhook", "test", "--account", ACCOUNT, "--id", hook_id)
    assert down.returncode == 3 and "not delivered" in down.stderr
    receiver.start()
    sent = parley(database, "webhook", "test", "--account", ACCOUNT, "--id", hook_id)
    assert (sent.returncode, sent.stdout.strip()) == (0, "delivered: the receiver answered 200")
    ((headers, body, _),) = receiver.received
    assert headers["x-parley-event"] == "webhook.test" and verified(headers, body, secret)
    receiver.status = 500
    failing = parley(database, "webhook", "test", "--account", ACCOUNT, "--id", hook_id)
    assert failing.returncode == 3 and "answered 500" in failing.stderr

    deleted = parley(database, "webhook", "delete", "--account", ACCOUNT, "--id", hook_id)
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    assert parley(database, "webhook", "list", "--account", ACCOUNT).stdout.strip() == "no webhooks"
    again = parley(database, "webhook", "delete", "--account", ACCOUNT, "--id", hook_id)
    assert again.returncode == 2 and f"no webhook {hook_id}" in again.stderr
