"""Every route, tried with every credential that should not open it, is refused (401, 403 or 404)
with the API's error body, and changes nothing.

The routes come from the application itself: a new route that is not public and that this walk
cannot place fails the test until it gets its refusal cases.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

import pytest

from parley.config import Settings
from parley.domain.ids import digest
from parley.http.app import create_app
from parley.services.admin_tokens import AdminTokens
from parley.services.webhooks import Webhooks
from tests.e2e.conftest import ACCOUNT, KEY, Server, seed
from tests.e2e.test_agent_api import Agent

OTHER_ACCOUNT, OTHER_KEY = "777", "0f0e0d0c0b0a09080706050403020100"
# Routes anyone may call: health, the OpenAPI document (/openapi.json), the Domain API /
# App Engagement (clients call them first), and the JS Chat SDK's bridge page and JSONP tunnel
# (a tunnelled call carries its own credentials and is refused like the call itself:
# test_bridge_wire.py), and the visitor chat widget (static files; test_widget.py). /metrics is
# guarded by who asks (loopback or its token), not by account credentials: test_metrics.py.
PUBLIC = {
    "/health",
    "/ready",
    "/openapi",
    "/api/account/{account_id}/service/{service}/baseURI",
    "/csdr/account/{account_id}/service/{service}/baseURI",
    "/csdr/account/{account_id}/service/baseURI",
    "/api/account/{account_id}/app/engagement/visitors",
    "/hcp/html/postmessage.min.html",
    "/hcp/html/lpsunco/postmessage.html",
    "/postmessage/postmessage.min.html",
    "/postmessage/bridge.js",
    "/api/account/{account_id}/js2rest",
    "/api/account/{account_id}/js2rest/{hint:path}",
    "/widget",  # the visitor chat widget's page and its files (its API calls carry the app key)
    "/widget/{name}",
    "/metrics",
    "/console",  # the agent console's static files: it logs in through the Login Service
    "/console/{name}",
}
S = "/api/account/{account_id}/agentSession/{session_id}"
AGENT_CHAT = S + "/chat/{agent_key:chat}"
VISITOR_CHAT = "/api/account/{account_id}/chat/{chat_id:chat}"


def _jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


# A well-formed body for every writable route, so a refusal is never a body error in disguise.
BODIES = {
    "request": {"request": {"skill": "Sales"}},
    "conversation": {"ssoKey": _jwt({"sub": "intruder"})},
    "events": {"event": {"@type": "line", "text": "intruder"}},
    "visitorName": {"visitorName": "intruder"},
    "visitorTyping": {"visitorTyping": "typing"},
    "{field}": {"agentTyping": "typing"},
    "customVariables": {"customVariables": {"customVariable": [{"name": "intruder", "value": "1"}]}},
    "transcriptRequest": {"transcriptRequest": {"email": "intruder@example.com"}},
    "transcriptWithSubjectRequest": {
        "transcriptWithSubjectRequest": {"email": "intruder@example.com", "subject": "hi"}
    },
    "offlineSurvey": {"survey": {"id": 1, "question": []}},
    "exitSurvey": {"survey": {"id": 1, "question": []}},
    "survey": {"survey": {"id": 1, "question": []}},
    "availability": {"availability": {"chat": "Away"}},
    "incomingRequests": {},
    "transfer": {"transfer": {"skill": {"id": 2}}},
    "transferAccount": {"transferAccount": {"account": OTHER_ACCOUNT, "skill": "Sales"}},
    "agentSession": {"loginData": ""},
    "cannedResponses": {"cannedResponse": {"title": "intruder", "text": "intruder"}},
}


# The admin API's bearers: one live (the control), one revoked before the server started.
ADMIN_TOKENS: dict[str, str] = {}


async def _other_account(admin) -> None:
    tokens = AdminTokens(admin.store)
    _, ADMIN_TOKENS["live"] = await tokens.create("isolation")
    revoked_id, ADMIN_TOKENS["revoked"] = await tokens.create("isolation, revoked")
    await tokens.revoke(revoked_id)
    await admin.create_agent(ACCOUNT, "bob", "bob-secret", "Bob", ["Sales", "Support"], 2)
    await admin.create_account(OTHER_ACCOUNT)
    await admin.create_app_key(OTHER_ACCOUNT, OTHER_KEY)
    await admin.create_skill(OTHER_ACCOUNT, "Sales")
    await admin.create_agent(OTHER_ACCOUNT, "oscar", "oscar-secret", "Oscar", ["Sales"], 4)
    # Webhook 1 of the demo account (a port nobody listens on: its deliveries just wait).
    await Webhooks(admin.store).create(ACCOUNT, "http://127.0.0.1:9/hook", None)


@pytest.fixture
def two_accounts(tmp_path):
    database = tmp_path / "parley.db"
    seed(database, _other_account)
    instance = Server(database).start()
    yield instance
    instance.stop()


def app_routes(tmp_path) -> list[tuple[str, list[str]]]:
    """(path template, methods) of every route the application serves."""
    gateway = create_app(Settings(database=f"sqlite:///{tmp_path / 'routes.db'}"))
    return [(route.path, sorted(set(route.methods or ()) - {"HEAD"})) for route in gateway.app.routes]


@dataclass
class Attempt:
    """One credential that must not open a route: who, which path values, which headers."""

    who: str
    values: dict
    headers: dict = field(default_factory=dict)
    query: str = "v=1"
    body: dict | None = None  # replaces the route's usual body (login routes carry the credential)


@dataclass
class World:
    """The chat under attack, after a transfer: Natalie held it, Bob holds it now."""

    url: str
    values: dict  # Bob's own path values: a request with Bob's bearer would open every route
    natalie: Agent
    bob: Agent
    oscar: Agent
    natalie_values: dict  # the former agent's session and the key and visit it was given
    bob_csrf: str


def build_world(server, http) -> World:
    base = f"{server.url}/api/account/{ACCOUNT}"
    natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")
    oscar = Agent(server, http, "oscar", "oscar-secret", OTHER_ACCOUNT)
    bob.put("/availability", {"availability": {"chat": "Away"}})
    auth = http.post(
        f"{base}/conversation.json?v=1&appKey={KEY}", json={"ssoKey": _jwt({"sub": "u1", "customerId": "c-1"})}
    ).json()
    created = http.post(
        f"{base}/chat/request.json?v=1&appKey={KEY}",
        json={
            "request": {
                "skill": "Sales",
                "participantId": auth["participantId"],
                "conversationId": auth["conversationId"],
            }
        },
    )
    chat_uri = created.headers["location"]
    mine = natalie.post(f"{natalie.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    natalie_visit = http.get(f"{mine}.json", headers=natalie.auth).json()["chat"]["link"][5]["@href"]
    bob.put("/availability", {"availability": {"chat": "Online"}})
    assert natalie.post(f"{mine}/transfer", {"transfer": {"skill": {"id": 2}}}).status_code == 200
    bobs = bob.post(f"{bob.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    canned = bob.post(f"{bob.session}/cannedResponses", {"cannedResponse": {"title": "Hi", "text": "Hello!"}})
    assert canned.status_code == 201, canned.text
    bob_visit = http.get(f"{bobs}.json", headers=bob.auth).json()["chat"]["link"][5]["@href"]
    values = {
        "account_id": ACCOUNT,
        "chat_id": chat_uri.rsplit("/", 1)[1],
        "session_id": bob.session.rsplit("/", 1)[1],
        "agent_key": bobs.rsplit("/", 1)[1],
        "event_id": "0",
        "field": "agentTyping",
        "participant_id": auth["participantId"],
        "visit_id": bob_visit.rsplit("/", 1)[1],
        "canned_id": canned.headers["location"].rsplit("/", 1)[1],
        "key_id": digest(KEY)[:16],  # the demo key's id: a revocation that went through would show below
        "skill_id": "1",
        "agent_id": "1",  # Sales and Natalie: a change that went through would show below
        "kind": "prechat",
        "survey_id": "1",
        "credential_id": "1",
        # Bob's chat's visitor: an erasure that went through would take the chat checked below.
        "visitor_id": http.get(f"{bobs}.json", headers=bob.auth).json()["chat"]["info"]["visitorId"],
        "hook_id": "1",  # a deletion or change that went through would show below
    }
    natalie_values = {
        "session_id": natalie.session.rsplit("/", 1)[1],
        "agent_key": mine.rsplit("/", 1)[1],
        "visit_id": natalie_visit.rsplit("/", 1)[1],
    }
    return World(server.url, values, natalie, bob, oscar, natalie_values, bob.login["csrf"])


def attempts_for(path: str, world: World) -> list[Attempt] | None:
    """Who must be refused on this route; None for a route this walk does not know yet."""
    nobody = Attempt("no credential", {})
    other_key = Attempt("other account's app key", {}, query=f"v=1&appKey={OTHER_KEY}")
    other_bearer = Attempt("other account's bearer", {}, world.oscar.auth)
    app_key = Attempt("app key on the agent side", {}, query=f"v=1&appKey={KEY}")
    natalie, bob = world.natalie.auth, world.bob.auth
    if path.startswith("/admin/"):
        return [
            nobody,
            app_key,
            other_bearer,
            Attempt("agent bearer of this account", {}, bob),
            Attempt("app key as a bearer", {}, {"Authorization": f"Bearer {KEY}"}),
            Attempt("revoked admin token", {}, {"Authorization": f"Bearer {ADMIN_TOKENS['revoked']}"}),
        ]
    if path.startswith(AGENT_CHAT):
        return [
            nobody,
            app_key,
            other_bearer,
            Attempt("other agent's bearer on the holder's session", {}, natalie),
            Attempt(
                "other agent's bearer, own session, holder's key",
                {"session_id": world.natalie_values["session_id"]},
                natalie,
            ),
            Attempt("former agent after transfer", world.natalie_values, natalie),
            Attempt("holder with the visitor's chat id as key", {"agent_key": world.values["chat_id"]}, bob),
        ]
    if path.startswith(S + "/visits/") or "participantExtendedInfo" in path:
        return [
            nobody,
            app_key,
            other_bearer,
            Attempt("other agent's bearer on the holder's session", {}, natalie),
            Attempt("former agent after transfer, own session", world.natalie_values, natalie),
            Attempt(
                "other agent, own session, holder's visit", {"session_id": world.natalie_values["session_id"]}, natalie
            ),
        ]
    if path.startswith(S):
        return [
            nobody,
            app_key,
            other_bearer,
            Attempt("other agent's bearer on the holder's session", {}, natalie),
            Attempt("other account's bearer on its own account", {"account_id": OTHER_ACCOUNT}, world.oscar.auth),
        ]
    if path == "/api/account/{account_id}/agentSession":
        return [
            nobody,
            app_key,
            other_bearer,
            Attempt("agent of this account on the other account", {"account_id": OTHER_ACCOUNT}, bob),
        ]
    if path.startswith(VISITOR_CHAT):
        return [
            nobody,
            other_key,
            other_bearer,
            Attempt(
                "other account's key on its own account", {"account_id": OTHER_ACCOUNT}, query=f"v=1&appKey={OTHER_KEY}"
            ),
            Attempt("agent bearer (the chat's agent) on visitor routes", {}, bob),
            Attempt("former agent after transfer on visitor routes", {}, natalie),
        ]
    if path.endswith("/login"):
        return [
            Attempt(
                "this account's agent on the other account",
                {"account_id": OTHER_ACCOUNT},
                body={"username": "bob", "password": "bob-secret"},
            ),
            Attempt("other account's agent here", {}, body={"username": "oscar", "password": "oscar-secret"}),
            Attempt("wrong password", {}, body={"username": "bob", "password": "natalie"}),
        ]
    if path.endswith(("/refresh", "/logout")):
        return [
            Attempt("no csrf", {}, body={}),
            Attempt(
                "this account's csrf on the other account", {"account_id": OTHER_ACCOUNT}, body={"csrf": world.bob_csrf}
            ),
            Attempt("made-up csrf", {}, body={"csrf": "0" * 64}),
        ]
    if path.startswith("/api/account/{account_id}"):
        return [nobody, other_key, other_bearer]
    return None


def rightful(path: str, world: World) -> Attempt:
    """The credential that does open the route: the control that its URL is well formed."""
    if path.startswith(S):
        return Attempt("the holder", {}, world.bob.auth)
    if path.startswith("/admin/"):
        return Attempt("an admin", {}, {"Authorization": f"Bearer {ADMIN_TOKENS['live']}"})
    return Attempt("the visitor", {}, query=f"v=1&appKey={KEY}")


# What the router answers when no route matches: never a refusal by an access check.
NO_ROUTE = "Resource not found"


def concrete(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values[m.group(1)]), path)


def body_for(path: str) -> dict:
    last = path.rsplit("/", 1)[1]
    return BODIES.get(re.sub(r":\w+", "", last), {})


def test_every_route_refuses_every_credential_that_should_not_open_it(two_accounts, tmp_path, http):
    world = build_world(two_accounts, http)
    routes = [(path, methods) for path, methods in app_routes(tmp_path) if path not in PUBLIC]
    unplaced = [path for path, _ in routes if attempts_for(path, world) is None]
    assert not unplaced, f"routes without refusal cases: {unplaced}"
    failures, refused = [], 0
    for path, methods in routes:
        if "GET" in methods:
            control = rightful(path, world)
            url = world.url + concrete(path, world.values) + ".json?" + control.query
            answer = http.get(url, headers=control.headers)
            assert answer.status_code not in (401, 403) and NO_ROUTE not in answer.text, (path, answer.text)
        for method in methods:
            for attempt in attempts_for(path, world):
                url = world.url + concrete(path, {**world.values, **attempt.values}) + ".json?" + attempt.query
                body = attempt.body if attempt.body is not None else body_for(path)
                answer = http.request(
                    method, url, headers=attempt.headers, json=body if method in ("POST", "PUT") else None
                )
                error = answer.json().get("error", {}) if answer.status_code in (401, 403, 404) else {}
                ok = isinstance(error.get("internalCode"), int) and error.get("message") != NO_ROUTE
                if ok:
                    refused += 1
                else:
                    failures.append(f"{method} {path} [{attempt.who}] -> {answer.status_code} {answer.text[:120]}")
    walked = len(routes)
    print(f"\naccess attempts refused: {refused} over {walked} routes")
    assert not failures, "\n".join(failures)
    assert walked == len(app_routes(tmp_path)) - len(PUBLIC)

    # Nothing the refused attempts tried happened.
    bob = world.bob
    chat = http.get(f"{bob.session}/chat/{world.values['agent_key']}.json", headers=bob.auth).json()["chat"]
    assert (chat["info"]["state"], chat["info"]["agentName"]) == ("chatting", "Bob")
    assert "intruder" not in json.dumps(chat)
    assert bob.get("/availability").json()["availability"]["chat"] == "Online"
    assert bob.get("/cannedResponses").json()["cannedResponses"]["cannedResponse"]["title"] == "Hi"  # one, kept
    # The admin routes changed nothing either: the demo key still opens its account, no new account.
    assert http.get(f"{world.url}/api/account/{ACCOUNT}/chat/availability.json?v=1&appKey={KEY}").status_code == 200
    admin = {"Authorization": f"Bearer {ADMIN_TOKENS['live']}"}
    listed = http.get(f"{world.url}/admin/v1/accounts", headers=admin).json()["accounts"]
    assert sorted(a["id"] for a in listed) == sorted([ACCOUNT, OTHER_ACCOUNT])
    natalie = http.get(f"{world.url}/admin/v1/accounts/{ACCOUNT}/agents/1", headers=admin).json()["agent"]
    assert (natalie["login"], natalie["enabled"], natalie["skills"]) == ("natalie", True, [{"id": 1, "name": "Sales"}])
    assert http.get(f"{world.natalie.session}.json", headers=world.natalie.auth).status_code == 200
    hook = http.get(f"{world.url}/admin/v1/accounts/{ACCOUNT}/webhooks/1", headers=admin).json()["webhook"]
    assert (hook["url"], hook["active"]) == ("http://127.0.0.1:9/hook", True)
    assert http.get(f"{world.oscar.session}.json", headers=world.oscar.auth).status_code == 200
