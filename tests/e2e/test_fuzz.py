"""Schemathesis against a running server, with real credentials and real resources.

Every operation of the OpenAPI document is fuzzed with positive and negative data; most cases
get the real account, app key, bearer, agent session and an open chat put in (so they pass
authentication and reach the handlers), the rest keep what was generated; a tenth get one
parameter replaced by a hostile value (odd digits, huge numbers). Checks: no 5xx, every answer
arrives within the request timeout, every 4xx is the API's error in JSON or XML with its
status's internalCode (429 also with Retry-After). Long-polls are capped at WAIT seconds and
no event stream is opened (a stream is held until the chat ends; tests/e2e/test_push.py).

Requests: ``PARLEY_FUZZ_REQUESTS`` (default 10,000 when ``CI=true``, 1,000 otherwise), spread
over the operations, within ``PARLEY_FUZZ_SECONDS`` (default 900) so CI cannot hang.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from lxml import etree
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

from parley.domain.ids import visit_id
from parley.http.openapi import document
from tests.e2e.conftest import ACCOUNT, KEY, database_url
from tests.e2e.test_surveys import surveyed  # noqa: F401  (a fixture)

TARGET = int(os.environ.get("PARLEY_FUZZ_REQUESTS") or (10_000 if os.environ.get("CI") == "true" else 1_000))
BUDGET_SECONDS = float(os.environ.get("PARLEY_FUZZ_SECONDS") or 900)
REQUEST_TIMEOUT = 15  # an answer slower than this is a hang (long-polls are capped at WAIT below)
WAIT = 0.2  # seconds a fuzzed long-poll may hold: the documented 50 would make the run hours long
REAL = 8  # in ten cases the real ids and credentials are put in; the other two keep generated ones
# Values schema-driven negative data seldom tries but clients can send (issue 8, finding 2): one of
# them replaces one parameter in a tenth of the cases.
HOSTILE = [
    "\u00b2",
    "\u2460",
    "\u0663",
    "\uff11",
    "1\u00b2",
    "-1",
    "+1",
    " 1",
    "1 ",
    "0x10",
    "1e3",
    "1.5",
    "-0",
    "9" * 20,
    "9" * 400,
    "9" * 5000,
    "-" + "9" * 30,
    "",
    "\x00",
    "%00",
    "..",
    "nan",
    "inf",
    "true",
    "null",
]


def error_body(content_type: str, body: bytes) -> dict:
    """The API's error element from a JSON or XML body; AssertionError when it is not one."""
    if content_type.startswith("application/json"):
        parsed = orjson.loads(body)
        assert isinstance(parsed, dict) and set(parsed) == {"error"}, f"not an error object: {body[:200]!r}"
        error = parsed["error"]
    elif content_type.startswith("application/xml"):
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        assert root.tag == "error", f"XML root is {root.tag!r}, not error"
        error = {child.tag: child.text for child in root}
        error["internalCode"] = int(error.get("internalCode") or "x")
    else:
        raise AssertionError(f"error answered as {content_type!r}: {body[:200]!r}")
    assert isinstance(error.get("message"), str) and isinstance(error.get("time"), str), error
    assert isinstance(error.get("internalCode"), int) and not isinstance(error["internalCode"], bool), error
    return error


# The internalCode each status may carry (server spec §1.9; 27 is the limits' code).
CODES = {400: {5, 11}, 401: {10}, 403: {10}, 404: {12}, 405: {13}, 409: {11}, 413: {14}, 429: {27}}


# Headers that frame the request body: the HTTP server (granian) refuses broken ones itself, with
# a bare 400, before parley sees the request (a Transfer-Encoding it does not know, for example).
FRAMING = {"transfer-encoding", "content-length"}


def refused_by_the_http_server(status: int, headers: dict, sent: dict | None) -> bool:
    """A bare 400 for broken framing headers, answered before the app: parley's own answers all
    carry nosniff (the gateway adds it to every answer, errors included)."""
    answered = {name.lower() for name in headers}
    generated = {name.lower() for name in (sent or {})}
    return status == 400 and "x-content-type-options" not in answered and bool(generated & FRAMING)


@schemathesis.check
def api_error_format(ctx, response, case):
    """Every client error is the API's own error element (server spec §1.9), with its status's code."""
    if refused_by_the_http_server(response.status_code, response.headers, case.headers):
        return None
    if 400 <= response.status_code < 500:
        try:
            error = error_body(response.headers.get("content-type", [""])[0], response.content)
        except (AssertionError, ValueError, etree.XMLSyntaxError) as exc:
            raise AssertionError(f"{response.status_code} not in the API's error format: {exc}") from exc
        allowed = CODES.get(response.status_code, set())
        assert error["internalCode"] in allowed, (
            f"{response.status_code} with internalCode {error['internalCode']} (expected one of {sorted(allowed)})"
        )
        if response.status_code == 429:
            assert response.headers.get("retry-after"), "429 without Retry-After"
    return None


@dataclass
class World:
    """The real things a case can name: refreshed between batches, since a fuzzed call may end the
    chat, end the session, transfer the chat away or set the agent Away. The visitor's chat and the
    agent's are kept apart: each side names a chat by the id its own URIs carry."""

    url: str
    http: httpx.Client
    bearer: str = ""
    session: str = ""
    chat: str = ""  # the visitor side's chat id
    agent_chat: str = ""  # the last segment of an agent-side chat URI
    notes: list[str] = field(default_factory=list)
    # The admin API's: a token, and an agent, a skill and a key of its own to change (never the
    # agents and skills the world's chats use, so a fuzzed disable or rename cannot break them).
    admin_token: str = ""
    admin_ids: dict = field(default_factory=dict)

    def prepare_admin(self, token: str) -> None:
        self.admin_token = token
        auth, admin = {"Authorization": f"Bearer {token}"}, f"{self.url}/admin/v1/accounts/{ACCOUNT}"
        skill = self.http.post(f"{admin}/skills", json={"name": "Fuzzed"}, headers=auth).json()["skill"]
        agent = self.http.post(
            f"{admin}/agents", json={"login": "fuzzed", "password": "fuzzed", "skills": ["Fuzzed"]}, headers=auth
        ).json()["agent"]
        key = self.http.post(f"{admin}/appKeys", headers=auth).json()["appKey"]
        made = self.http.post(f"{admin}/agents/{agent['id']}/appCredentials", headers=auth).json()["appCredentials"]
        # A webhook to a loopback port nobody listens on: its posts and tests fail at once.
        hook = self.http.post(f"{admin}/webhooks", json={"url": "http://127.0.0.1:9/fuzz"}, headers=auth)
        self.admin_ids = {
            "skill_id": str(skill["id"]),
            "agent_id": str(agent["id"]),
            "key_id": key["id"],
            "credential_id": str(made["id"]),
            "kind": "prechat",
            "hook_id": str(hook.json()["webhook"]["id"]),
        }

    @property
    def base(self) -> str:
        return f"{self.url}/api/account/{ACCOUNT}"

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.bearer}"}

    @property
    def session_uri(self) -> str:
        return f"{self.base}/agentSession/{self.session}"

    def login(self) -> None:
        for _ in range(5):  # the fuzz's wrong passwords may have hit the login limit of this address
            answer = self.http.post(f"{self.base}/login.json", json={"username": "natalie", "password": "natalie"})
            if answer.status_code != 429:
                break
            time.sleep(min(float(answer.headers.get("retry-after", "1")), 30))
        assert answer.status_code == 200, answer.text
        self.bearer = answer.json()["bearer"]

    def ensure(self) -> None:
        if not self.bearer:
            self.login()
        if not self.session or self.http.get(self.session_uri + ".json", headers=self.auth).status_code != 200:
            created = self.http.post(f"{self.base}/agentSession.json", json={"loginData": ""}, headers=self.auth)
            if created.status_code == 401:  # the login itself ended: log in again
                self.login()
                created = self.http.post(f"{self.base}/agentSession.json", json={"loginData": ""}, headers=self.auth)
            assert created.status_code == 201, created.text
            self.session = created.headers["location"].rsplit("/", 1)[1]
        self.http.post(
            self.session_uri + "/availability.json",
            json={"availability": {"chat": "Online"}},
            headers={**self.auth, "X-HTTP-Method-Override": "PUT"},
        )
        if not self.chat or not self._open(f"{self.base}/chat/{self.chat}/info.json?v=1&appKey={KEY}", {}):
            requested = self.http.post(f"{self.base}/chat/request.json?v=1&appKey={KEY}", json={"request": {}})
            if requested.status_code == 201:
                self.chat = requested.headers["location"].rsplit("/", 1)[1]
            else:  # a limit: carry on with what we had (the cases still run)
                self.notes.append(f"no fresh visitor chat: {requested.status_code}")
        if self.agent_chat and self._held(self.agent_chat):
            return
        for href in self._held_chats():
            if self._held(href.rsplit("/", 1)[1]):
                self.agent_chat = href.rsplit("/", 1)[1]
                return
        accepted = self.http.post(self.session_uri + "/incomingRequests.json", json={}, headers=self.auth)
        if accepted.status_code == 201:
            self.agent_chat = accepted.headers["location"].rsplit("/", 1)[1]
        else:
            self.notes.append(f"no fresh agent chat: accept {accepted.status_code}")

    def _open(self, info_url: str, headers: dict) -> bool:
        answer = self.http.get(info_url, headers=headers)
        return answer.status_code == 200 and answer.json()["info"].get("state") not in ("ended", None)

    def _held(self, chat: str) -> bool:
        return self._open(f"{self.session_uri}/chat/{chat}/info.json", self.auth)

    def _held_chats(self) -> list[str]:
        held = self.http.get(self.session_uri + "/chatSessions.json", headers=self.auth).json()["chatSessions"]
        items = held.get("chatSession", []) if isinstance(held, dict) else []
        return [item["link"]["@href"] for item in (items if isinstance(items, list) else [items])]


def hostile(case, pick: int, value: str) -> None:
    """Replace (or add) one declared path, query or header parameter with ``value``."""
    credentials = {"authorization", "appkey"}
    declared = [
        (str(getattr(p.location, "value", p.location)), p.name)
        for p in case.operation.iter_parameters()
        if p.name.lower() not in credentials
    ]
    if not declared:
        return
    location, name = declared[pick % len(declared)]
    # What HTTP can carry in a header: one latin-1 line without surrounding blanks.
    if location == "header" and (value != value.strip() or "\x00" in value or not all(ord(c) < 256 for c in value)):
        return
    target = {"path": "path_parameters", "query": "query", "header": "headers"}.get(location)
    if target:
        setattr(case, target, {**(getattr(case, target) or {}), name: value})


def realistic(case, world: World, dice: int) -> None:
    """Put real ids and credentials into most cases; bound long-polls; never open an event stream."""
    if dice < REAL:
        real = {
            "account_id": ACCOUNT,
            "chat_id": world.chat,
            "agent_key": world.agent_chat,
            "session_id": world.session,
            "event_id": str(dice),
            "visit_id": visit_id(world.agent_chat) if world.agent_chat else "",
            **world.admin_ids,
        }
        for name, value in real.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        if case.operation.label.endswith("/login") and isinstance(case.body, dict) and dice < REAL // 2:
            case.body = {**case.body, "username": "natalie", "password": "natalie"}
        schemes = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
        if "appKey" in schemes:
            case.query = {**(case.query or {}), "appKey": KEY}
            # A generated bearer would be checked before the key: the real key alone opens the route.
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        elif "agentBearer" in schemes:  # visitor routes take the key: a bearer there is another case
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {world.bearer}"}
        elif "adminToken" in schemes:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {world.admin_token}"}
    if case.query and "wait" in case.query:
        try:
            seconds = float(case.query["wait"])
        except (TypeError, ValueError):
            seconds = 0
        if WAIT < seconds <= 50:  # outside that range the server refuses at once
            case.query["wait"] = str(WAIT)
    if case.headers:
        # A stream is held until the chat ends: not a request/response case (tests/e2e/test_push.py).
        case.headers = {
            k: v for k, v in case.headers.items() if not (k.lower() == "accept" and "event-stream" in str(v))
        }


@dataclass
class Tally:
    requests: int = 0
    by_operation: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)  # status → count, to see that cases reach the handlers
    answers: dict = field(default_factory=dict)  # (operation, status) → count
    failures: dict = field(default_factory=dict)  # (operation, status, kind) → first example


def fuzz(schema, world: World, tally: Tally, operation, examples: int, deadline: float) -> None:
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    session = requests.Session()

    @given(
        case=st.one_of(strategies),
        dice=st.integers(0, 9),
        mutation=st.tuples(st.integers(0, 9), st.integers(0, 99), st.sampled_from(HOSTILE)),
    )
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case, dice, mutation):
        if time.monotonic() > deadline:
            return
        realistic(case, world, dice)
        if mutation[0] == 0:
            hostile(case, mutation[1], mutation[2])
        tally.requests += 1
        tally.by_operation[operation.label] = tally.by_operation.get(operation.label, 0) + 1
        try:
            response = case.call(base_url=world.url, session=session, timeout=REQUEST_TIMEOUT)
        except requests.Timeout:
            tally.failures.setdefault((operation.label, "-", "no answer in time"), case.as_curl_command())
            return
        except requests.RequestException as exc:
            tally.failures.setdefault((operation.label, "-", type(exc).__name__), case.as_curl_command())
            return
        tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
        key = (operation.label, response.status_code)
        tally.answers[key] = tally.answers.get(key, 0) + 1
        try:
            case.validate_response(response, checks=[not_a_server_error, api_error_format])
        except FailureGroup as group:
            kind = "; ".join(sorted({getattr(exc, "title", type(exc).__name__) for exc in group.exceptions}))
            tally.failures.setdefault((operation.label, response.status_code, kind), case.as_curl_command())
        except AssertionError as exc:  # a single failure
            kind = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
            tally.failures.setdefault((operation.label, response.status_code, kind), case.as_curl_command())

    try:
        run()
    except Unsatisfiable:
        pass  # nothing more to generate for this operation: the others make up the count
    finally:
        session.close()


def server_exceptions(log: str) -> dict[str, int]:
    """The last line of each traceback in the server's log (what the 5xx were), counted. JSON log
    lines carry theirs in ``exc``."""
    counts: dict[str, int] = {}
    inside = False
    lines = []
    for line in log.splitlines():
        if line.startswith("{") and '"exc":' in line:
            lines += orjson.loads(line)["exc"].splitlines()
        else:
            lines.append(line)
    for line in lines:
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line[0].isspace():
            inside = False
            counts[line[:200]] = counts.get(line[:200], 0) + 1
    return counts


def test_error_format_check_refuses_what_is_not_an_error():
    assert error_body("application/json", b'{"error": {"time": "t", "message": "m", "internalCode": 5}}')
    assert error_body(
        "application/xml", b"<error><time>t</time><message>m</message><internalCode>5</internalCode></error>"
    )
    for content_type, body in [
        ("application/json", b'{"detail": "Not Found"}'),
        ("text/plain", b"Not Found"),
        ("application/xml", b"<chat/>"),
        ("application/json", b'{"error": {"message": "m"}}'),
    ]:
        with pytest.raises(AssertionError):
            error_body(content_type, body)


def test_only_broken_framing_refused_before_parley_is_exempt():
    bare = {"content-length": ["0"]}
    assert refused_by_the_http_server(400, bare, {"Transfer-Encoding": "a{s\\mp"})
    assert not refused_by_the_http_server(400, bare, {"X-Other": "1"})  # parley had to answer that one
    assert not refused_by_the_http_server(400, {"x-content-type-options": ["nosniff"]}, {"Content-Length": "x"})
    assert not refused_by_the_http_server(404, bare, {"Transfer-Encoding": "x"})


def test_fuzz_every_operation(surveyed, http, capsys):  # noqa: F811  (pytest injects the imported fixture)
    server = surveyed  # the demo account with a survey of every kind
    schema = schemathesis.openapi.from_dict(document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(
        len([m for m in item if m in ("get", "put", "post", "delete", "patch")])
        for item in document()["paths"].values()
    )
    world = World(server.url, http)
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "admin-token",
            "create",
            "--name",
            "fuzz",
            "--database",
            database_url(server.database),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    world.prepare_admin(made.stdout.strip())
    tally = Tally()
    started = time.monotonic()
    deadline = started + BUDGET_SECONDS
    rounds = 0
    # Rounds over every operation until the target: an operation with few distinct cases
    # (no parameters, no body) runs out early and the others make up the difference.
    while tally.requests < TARGET and time.monotonic() < deadline and rounds < 20:
        rounds += 1
        before = tally.requests
        per_operation = max(1, math.ceil((TARGET - tally.requests) / len(operations)))
        for operation in operations:
            world.ensure()
            fuzz(schema, world, tally, operation, per_operation, deadline)
        if tally.requests == before:
            break
    elapsed = time.monotonic() - started
    summary = (
        f"requests fuzzed: {tally.requests} over {len(tally.by_operation)} operations "
        f"in {elapsed:.0f} s ({rounds} rounds); statuses {dict(sorted(tally.statuses.items()))}"
    )
    with capsys.disabled():  # the count belongs in every CI log, passed or failed
        print("\n" + summary)
    print(summary)
    unreached = sorted({op for op, _ in tally.answers} - {op for op, status in tally.answers if status < 300})
    print("operations that never answered 2xx:", ", ".join(unreached) or "none")
    for note in world.notes[:5]:
        print("note:", note)
    report = "\n".join(
        f"{op} → {status}: {kind}\n    {curl}" for (op, status, kind), curl in sorted(tally.failures.items(), key=str)
    )
    print(report)
    causes = server_exceptions(server.log.read_text(errors="replace"))
    if causes:
        print("server exceptions:\n" + "\n".join(f"{count:5} × {line}" for line, count in causes.items()))
    assert not tally.failures, f"{len(tally.failures)} distinct failures:\n{report}"
    assert tally.requests >= TARGET, f"only {tally.requests} requests in {elapsed:.0f} s (target {TARGET})"
    assert set(tally.by_operation) == {operation.label for operation in operations}


def test_server_exceptions_are_found_in_text_and_json_logs():
    trace = "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\nKeyError: 'k'"
    json_line = orjson.dumps({"message": "unexpected error", "exc": trace}).decode()
    assert server_exceptions(f"{trace}\nnext line\n{json_line}\n") == {"KeyError: 'k'": 2}
