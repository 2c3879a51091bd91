"""The contact centre over HTTP: ring-no-answer, transfers, queue place, timers."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import jwt as pyjwt
import pytest

from tests.e2e.conftest import ACCOUNT, Server, database_url, q
from tests.e2e.test_agent_api import Agent, start_chat


@pytest.fixture
def fast(database):
    """Timers in seconds instead of tens of seconds."""
    instance = Server(
        database, "--ring-timeout", "1", "--sweep-interval", "0.2", "--agent-session-idle-timeout", "3"
    ).start()
    yield instance
    instance.stop()


def wait_for(check, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def ringing(agent: Agent) -> int:
    return int(agent.get("/incomingRequests").json()["incomingRequests"]["ringingCount"])


def accept(agent: Agent) -> str:
    response = agent.post(f"{agent.session}/incomingRequests", {})
    assert response.status_code == 201, response.text
    return response.json()["chatLocation"]["link"]["@href"]


def visitor_events(http, chat_uri: str, start: int = 0) -> list[dict]:
    events = http.get(f"{chat_uri}/events.json?{q(f'from={start}')}").json()["events"].get("event", [])
    return events if isinstance(events, list) else [events]


def test_unanswered_ring_sets_away_and_rings_the_next_agent(fast, http):
    natalie, bob = Agent(fast, http), Agent(fast, http, "bob", "bob-secret")
    start_chat(fast, http, skill="Sales")
    first = natalie if ringing(natalie) else bob
    second = bob if first is natalie else natalie
    assert ringing(first) == 1 and ringing(second) == 0
    wait_for(lambda: ringing(second) == 1)
    assert first.get("/availability").json()["availability"]["chat"] == "Away"
    assert ringing(first) == 0
    accept(second)


def test_transfer_to_skill_keeps_history_and_ends_the_senders_access(fast, http):
    natalie, bob = Agent(fast, http), Agent(fast, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    chat_uri = start_chat(fast, http, skill="Sales")
    natalie_chat = accept(natalie)
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "I need billing"}})
    bob.put("/availability", {"availability": {"chat": "Online"}})
    targets = natalie.http.get(f"{natalie_chat}/transfer.json", headers=natalie.auth).json()["transfer"]["skill"]
    targets = targets if isinstance(targets, list) else [targets]
    support = next(t for t in targets if t["name"] == "Support")
    assert support["onlineAgents"] == "1"
    moved = natalie.post(
        f"{natalie_chat}/transfer", {"transfer": {"skill": {"id": support["id"]}, "text": "Billing case"}}
    )
    assert moved.status_code == 200 and moved.content == b""
    assert http.get(f"{natalie_chat}.json", headers=natalie.auth).status_code == 404
    seen = visitor_events(http, chat_uri, 5)
    assert [(e["@type"], e.get("systemMessageId"), e.get("state")) for e in seen] == [
        ("line", 15, None),
        ("state", None, "waiting"),
    ]
    info = http.get(f"{chat_uri}/info.json?{q()}").json()["info"]
    assert info["skillName"] == "Support" and "agentName" not in info
    bob_chat = accept(bob)
    history = http.get(f"{bob_chat}/events.json", headers=bob.auth).json()["events"]["event"]
    texts = [e.get("text") for e in history]
    assert "I need billing" in texts and "Billing case" in texts
    note = next(e for e in history if e.get("text") == "Billing case")
    assert (note["subType"], note["by"]) == ("ONLY_TO_REP", "Natalie")
    assert history[-1]["text"] == "You are now chatting with Bob."
    assert "Billing case" not in [e.get("text") for e in visitor_events(http, chat_uri)]


def test_transfer_to_an_occupied_agent(fast, http):
    natalie, bob = Agent(fast, http), Agent(fast, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Occupied"}})
    chat_uri = start_chat(fast, http, skill="Sales")
    natalie_chat = accept(natalie)
    bob_id = bob.get("/info").json()["info"]["id"]
    moved = natalie.post(f"{natalie_chat}/transfer", {"transfer": {"agent": {"id": bob_id}}})
    assert moved.status_code == 200
    assert ringing(bob) == 1  # Occupied agents still get transferred chats
    accept(bob)
    assert [e.get("systemMessageId") for e in visitor_events(http, chat_uri, 4)][:1] == [13]


@pytest.mark.parametrize(
    "body",
    [
        {"transfer": {"skill": {"id": 999}}},
        {"transfer": {"agent": {"id": 999}}},
        {"transfer": {"text": "nowhere"}},
    ],
)
def test_bad_transfers_change_nothing(fast, http, body):
    natalie = Agent(fast, http)
    chat_uri = start_chat(fast, http, skill="Sales")
    natalie_chat = accept(natalie)
    before = visitor_events(http, chat_uri)
    assert natalie.post(f"{natalie_chat}/transfer", body).status_code == 400
    assert visitor_events(http, chat_uri) == before
    assert http.get(f"{natalie_chat}/info.json", headers=natalie.auth).json()["info"]["state"] == "chatting"


def test_queue_position_and_estimate_while_waiting(fast, http):
    bob = Agent(fast, http, "bob", "bob-secret")  # Support, 2 slots
    bob.put("/availability", {"availability": {"chat": "Away"}})
    chats = [start_chat(fast, http, skill="Support") for _ in range(3)]
    places = [http.get(f"{c}/info.json?{q()}").json()["info"]["queuePosition"] for c in chats]
    assert places == [1, 2, 3]
    assert http.get(f"{chats[0]}/info.json?{q()}").json()["info"]["estimatedWaitTime"] == -1  # nobody Online
    bob.put("/availability", {"availability": {"chat": "Online"}})
    accept(bob)
    assert "queuePosition" not in http.get(f"{chats[0]}/info.json?{q()}").json()["info"]
    assert http.get(f"{chats[2]}/info.json?{q()}").json()["info"]["queuePosition"] == 2


def test_max_wait_time_ends_a_waiting_chat(fast, http):
    bob = Agent(fast, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    chat_uri = start_chat(fast, http, skill="Support", maxWaitTime=1)
    wait_for(lambda: http.get(f"{chat_uri}/info.json?{q()}").json()["info"]["state"] == "ended")
    assert visitor_events(http, chat_uri)[-2]["systemMessageId"] == 2


def test_idle_agent_session_ends_and_its_chat_is_requeued(fast, http):
    natalie, bob = Agent(fast, http), Agent(fast, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    chat_uri = start_chat(fast, http, skill="Sales")
    accept(natalie)

    def requeued():
        bob.get("/availability")  # bob stays active; natalie goes silent
        return any(e.get("systemMessageId") == 23 for e in visitor_events(http, chat_uri))

    wait_for(requeued)
    assert http.get(f"{natalie.session}.json", headers=natalie.auth).status_code == 404


def test_available_agents_and_several_chats(fast, http):
    natalie, bob = Agent(fast, http), Agent(fast, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    for _ in range(2):
        start_chat(fast, http, skill="Sales")
    a, b = accept(natalie), accept(natalie)
    agents = natalie.get("/availableAgents").json()["availableAgents"]
    listed = {agent["userName"]: agent for agent in agents["agents"]["agent"]}
    assert (listed["natalie"]["@chatState"], listed["natalie"]["chats"]) == ("2", "2")
    assert listed["bob"]["@chatState"] == "4" and "chats" not in listed["bob"]
    assert listed["bob"]["skills"]["skill"] == ["1", "2"] and listed["natalie"]["skills"]["skill"] == "1"
    assert agents["link"]["@rel"] == "next" and "timeStamp=" in agents["link"]["@href"]
    away = natalie.get("/availableAgents", chatState="Away").json()["availableAgents"]["agents"]["agent"]
    assert away["userName"] == "bob"
    keys = ",".join([a.rsplit("/", 1)[1], b.rsplit("/", 1)[1], "H0-unknown"])
    several = natalie.get("/chat", chatSessionKeys=keys, fromEventIds="2,0").json()["chats"]["chat"]
    assert len(several) == 2
    assert [e["id"] for e in several[0]["events"]["event"]] == ["2", "3"]
    assert several[0]["events"]["event"][0]["@id"] == "2"
    assert list(several[1]["link"][0]) == ["@href", "@rel", "href", "rel"]
    assert natalie.get("/chat").status_code == 400


def _jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def test_authenticated_visitor_and_participant_info(fast, http):
    natalie = Agent(fast, http)
    base = f"{fast.url}/api/account/{ACCOUNT}"
    token = _jwt({"sub": "u1", "customerId": "57ac-072a", "customerType": "vip", "name": "Test", "surname": "User"})
    auth = http.post(f"{base}/conversation.json?{q()}", json={"ssoKey": token, "engagementId": 1}).json()
    assert set(auth) == {"conversationId", "participantId"}
    created = http.post(
        f"{base}/chat/request.json?{q()}",
        json={
            "request": {
                "skill": "Sales",
                "participantId": auth["participantId"],
                "conversationId": auth["conversationId"],
            }
        },
    )
    assert created.status_code == 201
    info = http.get(f"{created.headers['location']}/info.json?{q()}").json()["info"]
    assert info["participantId"] == auth["participantId"]
    accept(natalie)
    extended = natalie.get(f"/participantExtendedInfo/{auth['participantId']}").json()
    assert extended["authenticatedParticipantInfo"] == {
        "isUserAuthenticated": True,
        "participantId": auth["participantId"],
        "customerId": "57ac-072a",
        "customerType": "vip",
    }
    assert extended["authenticatedPersonalInfo"] == {"name": "Test", "surname": "User"}
    postman_form = http.get(
        f"{natalie.session}participantExtendedInfo/{auth['participantId']}.json", headers=natalie.auth
    )
    assert postman_form.status_code == 200
    wrong = http.post(f"{base}/chat/request.json?{q()}", json={"request": {"participantId": "nope"}})
    assert wrong.status_code == 401
    assert http.post(f"{base}/conversation.json?{q()}", json={}).status_code == 400


def test_visit_resources_and_account_transfer(fast, http):
    natalie = Agent(fast, http)
    chat_uri = start_chat(
        fast,
        http,
        skill="Sales",
        chatReferrer="https://shop.example/cart",
        customVariables={"customVariable": [{"name": "plan", "value": "gold"}]},
    )
    agent_chat = accept(natalie)
    chat = http.get(f"{agent_chat}.json", headers=natalie.auth).json()["chat"]
    visit_href = chat["link"][5]["@href"]
    visit = http.get(f"{visit_href}.json", headers=natalie.auth).json()["visit"]
    assert visit["chatReferrer"] == "https://shop.example/cart"
    variables = http.get(f"{visit_href}/customVariables.json", headers=natalie.auth).json()
    assert variables == {"customVariables": {"customVariable": {"name": "plan", "value": "gold"}}}
    assert http.get(f"{agent_chat}/collaborationChannels.json", headers=natalie.auth).json() == {
        "collaborationChannels": {}
    }
    moved = natalie.post(f"{agent_chat}/transferAccount", {"transferAccount": {"account": "70648893", "skill": "test"}})
    assert moved.status_code == 200
    a2a, ended = visitor_events(http, chat_uri)[-2:]
    assert a2a["@type"] == "a2a-transfer" and a2a["remoteSiteId"] == 70648893
    assert a2a["link"]["@href"].endswith("/api/account/70648893/chat/request")
    assert a2a["chatRequestParameters"]["a2aSourceSiteId"] == ACCOUNT
    assert ended["state"] == "ended"


def test_sso_keys_are_verified_when_a_key_is_configured(database, http):

    server = Server(database, "--sso-jwt-key", "a-32-byte-or-longer-secret-for-tests").start()
    try:
        base = f"{server.url}/api/account/{ACCOUNT}/conversation.json?{q()}"
        good = pyjwt.encode(
            {"sub": "u1", "customerId": "c-9", "exp": int(time.time()) + 600},
            "a-32-byte-or-longer-secret-for-tests",
            algorithm="HS256",
        )
        assert http.post(base, json={"ssoKey": good}).status_code == 200
        forged = pyjwt.encode({"sub": "u1"}, "another-32-byte-or-longer-secret-here", algorithm="HS256")
        expired = pyjwt.encode(
            {"sub": "u1", "exp": int(time.time()) - 60}, "a-32-byte-or-longer-secret-for-tests", algorithm="HS256"
        )
        for key in (forged, expired, _jwt({"sub": "u1"}), "an-opaque-code"):
            refused = http.post(base, json={"ssoKey": key})
            assert refused.status_code == 401 and refused.json()["error"]["internalCode"] == 10
        direct = http.post(
            f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": {"ssoKey": forged}}
        )
        assert direct.status_code == 401
    finally:
        server.stop()


def test_ring_mode_all_rings_everyone_and_the_first_accept_wins(database, http):
    server = Server(database, "--ring-mode", "all").start()
    try:
        natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")
        start_chat(server, http, skill="Sales")
        assert ringing(natalie) == 1 and ringing(bob) == 1
        accept(bob)
        assert ringing(natalie) == 0
        late = natalie.post(f"{natalie.session}/incomingRequests", {})
        assert late.status_code == 404
    finally:
        server.stop()


def test_bad_settings_are_refused_at_start(database):
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--ring-mode", "sometimes", "--database", database_url(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stderr.startswith("parley: ring-mode: ")
