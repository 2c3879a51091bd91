"""Chat Agent API specifics: sessions, availability, rings, html, rich content, chat sessions."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import ACCOUNT, q


class Agent:
    def __init__(self, server, http: httpx.Client, login="natalie", password="natalie", account=ACCOUNT) -> None:
        self.http = http
        self.base = f"{server.url}/api/account/{account}"
        body = http.post(f"{self.base}/login?v=1.2", json={"username": login, "password": password}).json()
        self.login = body
        self.auth = {"Authorization": f"Bearer {body['bearer']}"}
        created = http.post(f"{self.base}/agentSession.json?v=1&NC=true", json={"loginData": ""}, headers=self.auth)
        assert created.status_code == 201
        self.session = created.json()["agentSessionLocation"]["link"]["@href"]
        assert created.headers["location"] == self.session

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(f"{self.session}{path}.json", params=params, headers=self.auth)

    def put(self, path: str, body: dict) -> httpx.Response:
        return self.http.post(
            f"{self.session}{path}.json", json=body, headers={**self.auth, "X-HTTP-Method-Override": "PUT"}
        )

    def post(self, url: str, body) -> httpx.Response:
        return self.http.post(f"{url}.json", json=body, headers=self.auth)


def start_chat(server, http, **request) -> str:
    response = http.post(f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": request})
    assert response.status_code == 201
    return response.headers["location"]


def test_login_response_shape(server, http):
    agent = Agent(server, http)
    body = agent.login
    assert len(body["bearer"]) == 64 and len(body["csrf"]) == 64 and body["wsuk"].isdigit()
    assert body["config"]["loginName"] == "natalie"
    assert isinstance(body["config"]["userPrivileges"], list)
    services = {entry["service"]: entry["baseURI"] for entry in body["csdsCollectionResponse"]["baseURIs"]}
    assert services["agentVep"] == services["conversationVep"] == f"127.0.0.1:{server.port}"
    assert isinstance(body["accountData"]["agentGroupsData"]["items"], list)
    assert body["sessionTTl"] == "28800000"
    assert agent.session.rsplit("/", 1)[1].isdigit()


def test_session_info_and_availability(server, http):
    agent = Agent(server, http)
    info = agent.get("/info").json()["info"]
    assert list(info)[:6] == ["link", "agentName", "displayName", "loginName", "id", "maxChats"]
    assert info["link"]["@rel"] == "self" and isinstance(info["link"], dict)
    assert (info["agentName"], info["loginName"], info["maxChats"]) == ("Natalie", "natalie", "4")
    assert info["availability"] == {"chat": "Online", "voice": "Offline"}  # default availability is Online
    assert info["skillsInfo"]["skillInfo"]["name"] == "Sales"  # one skill collapses to an object
    changed = agent.put("/availability", {"availability": {"chat": "away"}})
    assert changed.status_code == 200 and changed.json() == {"availability": {"chat": "Away", "voice": "Offline"}}
    assert agent.get("/availability").json()["availability"]["chat"] == "Away"
    session = agent.get("", cs="1").json()["agentSession"]
    assert session["link"][0]["@rel"] == "self" and "chatSessions" in session


def test_away_agents_are_not_rung_and_rings_move_on(server, http):
    natalie = Agent(server, http)
    bob = Agent(server, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    start_chat(server, http, skill="Sales")
    assert natalie.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "1"
    assert bob.get("/incomingRequests").json() == {"incomingRequests": {"ringingCount": "0"}}
    # Natalie goes Away: her ring is withdrawn and goes to Bob once he is Online.
    natalie.put("/availability", {"availability": {"chat": "Away"}})
    assert natalie.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "0"
    bob.put("/availability", {"availability": {"chat": "Online"}})
    ring = bob.get("/incomingRequests").json()["incomingRequests"]
    assert ring["ringingCount"] == "1" and isinstance(ring["link"], dict)
    accepted = bob.post(ring["link"]["@href"], {"": ""})
    assert accepted.status_code == 201


def test_rings_respect_capacity_and_fifo(server, http):
    bob = Agent(server, http, "bob", "bob-secret")  # max 2 chats
    chats = [start_chat(server, http, skill="Support") for _ in range(3)]
    assert bob.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "2"
    first = bob.post(f"{bob.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    second = bob.post(f"{bob.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    # The agent side names chats by their own keys: match them to the visitor's by rtSessionId.
    accepted = [http.get(f"{uri}/info.json", headers=bob.auth).json()["info"]["rtSessionId"] for uri in (first, second)]
    assert accepted == [http.get(f"{c}/info.json?{q()}").json()["info"]["rtSessionId"] for c in chats[:2]]
    assert bob.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "0"
    bob.post(f"{first}/events", {"event": {"@type": "state", "state": "ended"}})
    assert bob.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "1"
    sessions = bob.get("/chatSessions").json()["chatSessions"]["chatSession"]
    assert isinstance(sessions, dict) and sessions["chatSessionKey"] == second.rsplit("/", 1)[1]
    assert list(sessions["link"]) == ["@href", "@rel", "href", "rel"]
    assert isinstance(sessions["startTime"], int)


def test_html_rich_content_and_private_lines(server, http):
    agent = Agent(server, http)
    chat_uri = start_chat(server, http, skill="Sales")
    agent_chat = agent.post(f"{agent.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    html = '<div dir="ltr">Hi <script>alert(1)</script><a href="javascript:x()" onclick="y()">link</a></div>'
    posted = agent.post(f"{agent_chat}/events", {"event": {"@type": "line", "text": html, "textType": "html"}})
    assert posted.status_code == 201
    assert posted.json()["chatEventLocation"]["link"]["@href"] == posted.headers["location"]
    content = {"type": "vertical", "elements": [{"type": "text", "text": "Pick one"}]}
    agent.post(f"{agent_chat}/events", {"event": {"@type": "line", "textType": "rich-content", "json": content}})
    agent.post(f"{agent_chat}/events", {"event": {"@type": "line", "text": "psst", "subType": "ONLY_TO_REP"}})
    seen = http.get(f"{chat_uri}/events.json?{q('from=4')}").json()["events"]["event"]
    assert len(seen) == 2
    assert seen[0]["textType"] == "html"
    assert seen[0]["text"].startswith('<div dir="ltr">Hi ') and "script" not in seen[0]["text"]
    assert "javascript" not in seen[0]["text"] and "onclick" not in seen[0]["text"]
    assert (seen[1]["textType"], seen[1]["json"]) == ("rich-content", content)
    private_id = posted.headers["location"].rsplit("/", 1)[1]
    assert http.get(f"{chat_uri}/events/{int(private_id) + 2}.json?{q()}").status_code == 404
    one = http.get(f"{agent_chat}/events/{int(private_id) + 2}.json", headers=agent.auth).json()["event"]
    assert one["subType"] == "ONLY_TO_REP"


def test_visitor_extras_and_agent_reads(server, http):
    agent = Agent(server, http)
    chat_uri = start_chat(server, http, skill="Sales")
    # Lines, name and typing are accepted while waiting (compatibility rule 12).
    assert (
        http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "early"}}).status_code
        == 201
    )
    assert http.put(f"{chat_uri}/info/visitorTyping.json?{q()}", json={"visitorTyping": "typing"}).status_code == 200
    status = {"event": {"@type": "line-status", "lineStatus": "ACCEPT", "refSequenceId": "3", "source": "visitor"}}
    assert http.post(f"{chat_uri}/events.json?{q()}", json=status).status_code == 201
    rich = {"event": {"@type": "line", "textType": "rich-content", "json": {"type": "button", "title": "Yes"}}}
    assert http.post(f"{chat_uri}/events.json?{q()}", json=rich).status_code == 201
    agent_chat = agent.post(f"{agent.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    events = http.get(f"{agent_chat}/events.json", headers=agent.auth).json()["events"]["event"]
    assert [e["@type"] for e in events][2:5] == ["line", "line-status", "line"]
    assert events[2]["text"] == "early" and events[2]["by"] == "visitor"
    visitor_view = http.get(f"{chat_uri}/events.json?{q()}").json()["events"]["event"]
    assert "line-status" not in [e["@type"] for e in visitor_view]
    assert http.get(f"{agent_chat}/info/visitorName.json", headers=agent.auth).json() == {"visitorName": "visitor"}
    assert (
        http.put(f"{agent_chat}/info/visitorName.json", json={"visitorName": "x"}, headers=agent.auth).status_code
        == 400
    )
    variables = {"customVariables": {"customVariable": {"name": "plan", "value": "gold"}}}
    assert http.put(f"{chat_uri}/customVariables.json?{q()}", json=variables).status_code == 200


def test_logout_requeues_to_another_agent(server, http):
    natalie = Agent(server, http)
    bob = Agent(server, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    chat_uri = start_chat(server, http, skill="Sales")
    natalie.post(f"{natalie.session}/incomingRequests", {})
    out = http.post(f"{natalie.base}/logout", json={"csrf": natalie.login["csrf"]})
    assert out.status_code == 200
    events = http.get(f"{chat_uri}/events.json?{q('from=4')}").json()["events"]["event"]
    assert [(e["@type"], e.get("systemMessageId"), e.get("state")) for e in events] == [
        ("line", 23, None),
        ("state", None, "waiting"),
    ]
    assert http.get(f"{natalie.session}.json", headers=natalie.auth).status_code == 401
    bob.put("/availability", {"availability": {"chat": "Online"}})
    assert bob.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "1"


def test_refresh_needs_the_csrf(server, http):
    agent = Agent(server, http)
    assert http.post(f"{agent.base}/refresh", json={"csrf": agent.login["csrf"]}).status_code == 200
    wrong = http.post(f"{agent.base}/refresh", json={"csrf": "0" * 64})
    assert wrong.status_code == 401 and "CSRF" in wrong.json()["error"]["message"]


def test_availability_and_slots_follow_capacity(server, http):
    bob = Agent(server, http, "bob", "bob-secret")  # Sales + Support, 2 slots
    base = f"{server.url}/api/account/{ACCOUNT}/chat"
    several = http.get(f"{base}/availability.json?{q('skill=Sales&skill=Billing')}").json()
    assert several == {
        "availability": {
            "AvailabilityForSkills": {
                "skillAvailability": [
                    {"skill": "Sales", "isAvailable": True},
                    {"skill": "Billing", "isAvailable": False},
                ]
            }
        }
    }
    assert http.get(f"{base}/availableSlots.json?{q('skill=Support')}").json() == {"availableSlots": 2}
    assert http.get(f"{bob.session}/chat/availableSlots.json?skill=Support", headers=bob.auth).json() == {
        "availableSlots": 2
    }
    for _ in range(2):
        start_chat(server, http, skill="Support")
        bob.post(f"{bob.session}/incomingRequests", {})
    assert http.get(f"{base}/availableSlots.json?{q('skill=Support')}").json() == {"availableSlots": 0}
    assert http.get(f"{base}/availability.json?{q('skill=Support')}").json() == {"availability": True}
    assert http.get(f"{base}/availability.json?{q('skill=Support&maxWaitTime=0')}").json() == {"availability": False}
    assert http.get(f"{base}/availability.json?{q('agent=bob')}").json() == {"availability": False}
    full = http.post(f"{base}/request.json?{q()}", json={"request": {"skill": "Support", "maxWaitTime": 0}})
    events = http.get(f"{full.headers['location']}/events.json?{q()}").json()["events"]["event"]
    assert events[-2]["systemMessageId"] == 2 and events[-1]["state"] == "ended"
    assert http.get(f"{base}/estimatedWaitTime.json?{q('skill=Billing')}").json() == {"estimatedWaitTime": -1}
    assert http.get(f"{base}/estimatedWaitTime.json?{q('agent=bob')}").status_code == 400


def test_closing_an_agent_session(server, http):
    agent = Agent(server, http)
    closed = http.post(f"{agent.session}.json", headers={**agent.auth, "X-HTTP-Method-Override": "DELETE"})
    assert closed.status_code == 200 and closed.content == b""
    assert agent.get("").status_code == 404
    assert agent.get("/availability").status_code == 404
    again = Agent(server, http)  # the same bearer user may open a new one
    assert again.get("/availability").json()["availability"]["chat"] == "Online"
