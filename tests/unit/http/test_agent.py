"""The agent handlers (Login Service, Chat Agent API) in process: main paths and refusals, with
the manual clock driving ring timeouts."""

from __future__ import annotations

from parley.services import timers
from parley.services.accounts import Admin
from parley.wire import errors
from tests.unit.http.conftest import ACCOUNT_URL
from tests.unit.http.test_metrics import scrape, value
from tests.unit.http.test_visitor import Q, events_of, new_chat, refused


def many(element) -> list:
    """One child renders as an object, several as an array (wire rule): always a list here."""
    return element if isinstance(element, list) else [element]


class Agent:
    """One agent over HTTP: a login bearer and an agent session."""

    def __init__(self, http, login: dict, session: str) -> None:
        self.http, self.session = http, session
        self.auth = {"Authorization": f"Bearer {login['bearer']}"}
        self.csrf = login.get("csrf")

    @classmethod
    async def log_in(cls, http, login: str = "natalie", password: str = "natalie") -> Agent:
        logged = await http.post(f"{ACCOUNT_URL}/login?v=1.3", json={"username": login, "password": password})
        assert logged.status_code == 200, logged.text
        bearer = logged.json()["bearer"]
        created = await http.post(
            f"{ACCOUNT_URL}/agentSession.json?v=1",
            json={"loginData": {}},
            headers={"Authorization": f"Bearer {bearer}"},
        )
        assert created.status_code == 201, created.text
        session = created.json()["agentSessionLocation"]["link"]["@href"]
        assert created.headers["location"] == session
        return cls(http, logged.json(), session)

    async def get(self, url: str, **params):
        return await self.http.get(f"{url}.json", params=params, headers=self.auth)

    async def post(self, url: str, body, **headers):
        return await self.http.post(f"{url}.json", json=body, headers={**self.auth, **headers})

    async def put(self, url: str, body):
        return await self.http.put(f"{url}.json", json=body, headers=self.auth)

    async def accept(self) -> str:
        taken = await self.post(f"{self.session}/incomingRequests", {})
        assert taken.status_code == 201, taken.text
        return taken.json()["chatLocation"]["link"]["@href"]


async def test_login_refusals(http):
    refused(
        await http.post(f"{ACCOUNT_URL}/login?v=1.3", json={"username": "natalie", "password": "wrong"}),
        401,
        errors.UNAUTHORIZED,
    )
    refused(await http.post(f"{ACCOUNT_URL}/login?v=1.3", json={"username": "natalie"}), 400, errors.BAD_BODY)
    refused(await http.post(f"{ACCOUNT_URL}/agentSession.json?v=1", json={}), 401, errors.UNAUTHORIZED)
    refused(
        await http.post(
            f"{ACCOUNT_URL}/agentSession.json?v=1", json={}, headers={"Authorization": "Bearer not-a-bearer"}
        ),
        401,
        errors.UNAUTHORIZED,
    )


async def test_a_session_its_info_and_availability(http):
    agent = await Agent.log_in(http)
    session = (await agent.get(agent.session)).json()["agentSession"]
    assert {link["@rel"] for link in session["link"]} >= {"self", "info", "availability", "incoming-requests"}
    info = (await agent.get(f"{agent.session}/info")).json()["info"]
    assert info["loginName"] == "natalie" and info["availability"]["chat"] == "Online"
    assert [skill["name"] for skill in many(info["skillsInfo"]["skillInfo"])] == ["Sales"]
    away = await agent.put(f"{agent.session}/availability", {"availability": {"chat": "Away"}})
    assert away.json() == {"availability": {"chat": "Away", "voice": "Offline"}}
    refused(
        await agent.put(f"{agent.session}/availability", {"availability": {"chat": "Dancing"}}),
        400,
        errors.OUT_OF_RANGE,
    )
    refused(await agent.get(f"{ACCOUNT_URL}/agentSession/999999"), 404, errors.NOT_FOUND)
    assert (await http.get(f"{agent.session}.json")).status_code == 401  # no bearer
    closed = await agent.http.delete(f"{agent.session}.json", headers=agent.auth)
    assert closed.status_code == 200
    refused(await agent.get(agent.session), 404, errors.NOT_FOUND)


async def test_a_chat_from_ring_to_end_on_both_sides(http, account_id):
    agent = await Agent.log_in(http)
    assert (await agent.get(f"{agent.session}/incomingRequests")).json() == {"incomingRequests": {"ringingCount": "0"}}
    refused(await agent.post(f"{agent.session}/incomingRequests", {}), 404, errors.NOT_FOUND)
    chat = await new_chat(http, preChatLines={"line": ["from the pricing page"]})
    ringing = (await agent.get(f"{agent.session}/incomingRequests")).json()["incomingRequests"]
    assert ringing["ringingCount"] == "1"
    agent_chat = await agent.accept()
    assert agent_chat.rsplit("/", 1)[1] != chat.rsplit("/", 1)[1]  # the agent's key, never the visitor's id
    seen = events_of((await agent.get(f"{agent_chat}/events")).json())
    assert "from the pricing page" in [event.get("text") for event in seen]  # pre-chat lines: agents only
    line = await agent.post(f"{agent_chat}/events", {"event": {"@type": "line", "text": "Hi, I'm Natalie"}})
    assert line.status_code == 201
    visitor_sees = events_of((await http.get(f"{chat}/events.json?{Q}")).json())
    assert [e.get("text") for e in visitor_sees if e["@type"] == "line"][-1] == "Hi, I'm Natalie"
    assert (await http.get(f"{chat}/info.json?{Q}")).json()["info"]["state"] == "chatting"
    sessions = (await agent.get(f"{agent.session}/chatSessions")).json()["chatSessions"]["chatSession"]
    assert many(sessions)[0]["chatSessionKey"] == agent_chat.rsplit("/", 1)[1]
    assert (await agent.put(f"{agent_chat}/info/agentTyping", {"agentTyping": "typing"})).status_code == 200
    assert (await http.get(f"{chat}/info/agentTyping.json?{Q}")).json() == {"agentTyping": "typing"}
    refused(await agent.put(f"{agent_chat}/info/visitorName", {"visitorName": "x"}), 400, errors.OUT_OF_RANGE)
    refused(
        await agent.post(f"{agent_chat}/events", {"event": {"@type": "state", "state": "chatting"}}),
        400,
        errors.OUT_OF_RANGE,
    )
    refused(
        await agent.post(f"{agent_chat}/events", {"event": {"@type": "line", "text": ""}}), 400, errors.OUT_OF_RANGE
    )
    ended = await agent.post(f"{agent_chat}/events", {"event": {"@type": "state", "state": "ended"}})
    assert ended.status_code == 201
    assert (await http.get(f"{chat}/info.json?{Q}")).json()["info"]["state"] == "ended"
    text = await scrape(http)
    assert value(text, "parley_lines_total", side="agent") == 1
    assert value(text, "parley_rings_total") == 1


async def test_an_agent_reaches_only_its_own_chats(http):
    agent = await Agent.log_in(http)
    chat = await new_chat(http)
    agent_chat = await agent.accept()
    other_session = agent.session.rsplit("/", 1)[0] + "/424242"
    refused(await agent.get(f"{other_session}/chat/{agent_chat.rsplit('/', 1)[1]}"), 404, errors.NOT_FOUND)
    refused(await agent.get(f"{agent.session}/chat/H1-0K1"), 404, errors.NOT_FOUND)
    # The visitor's chat id under the agent's session names nothing: agents use their own key.
    refused(await agent.get(f"{agent.session}/chat/{chat.rsplit('/', 1)[1]}"), 404, errors.NOT_FOUND)
    refused(await http.get(f"{agent_chat}.json"), 401, errors.UNAUTHORIZED)  # no bearer


async def test_an_unanswered_ring_times_out_on_the_clock(http, engine, clock, account_id):
    agent = await Agent.log_in(http)
    await new_chat(http)
    clock.advance(engine.settings.ring_timeout + 1)
    await timers.sweep(engine)
    info = (await agent.get(f"{agent.session}/info")).json()["info"]
    assert info["availability"]["chat"] == "Away"  # documented: a missed ring sets the agent Away
    text = await scrape(http)
    assert value(text, "parley_ring_timeouts_total") == 1
    assert value(text, "parley_agents", account=account_id, availability="Away") == 1


async def test_a_transfer_to_a_skill_rings_an_agent_of_that_skill(http, engine, account_id):
    await Admin(engine.store).create_agent(account_id, "bob", "bob-secret", "Bob", ["Support"], 2)
    await engine.reload_directory()
    natalie = await Agent.log_in(http)
    chat = await new_chat(http)
    agent_chat = await natalie.accept()
    support = engine.directory.skill_named(account_id, "Support")
    refused(
        await natalie.post(f"{agent_chat}/transfer", {"transfer": {"skill": {"id": support.id}}}),
        400,
        errors.OUT_OF_RANGE,
    )  # nobody on Support yet
    bob = await Agent.log_in(http, "bob", "bob-secret")
    offered = many((await natalie.get(f"{agent_chat}/transfer")).json()["transfer"]["skill"])
    assert [(skill["name"], skill["onlineAgents"]) for skill in offered] == [("Support", "1")]
    refused(await natalie.post(f"{agent_chat}/transfer", {"transfer": {}}), 400, errors.OUT_OF_RANGE)
    moved = await natalie.post(f"{agent_chat}/transfer", {"transfer": {"skill": {"id": support.id}, "text": "hw"}})
    assert moved.status_code == 200, moved.text
    refused(await natalie.get(agent_chat), 404, errors.NOT_FOUND)  # no longer hers
    assert (await bob.get(f"{bob.session}/incomingRequests")).json()["incomingRequests"]["ringingCount"] == "1"
    assert (await http.get(f"{chat}/info.json?{Q}")).json()["info"]["state"] == "waiting"


async def test_logout_with_the_csrf_token_ends_the_bearer(http):
    agent = await Agent.log_in(http)
    refused(await http.post(f"{ACCOUNT_URL}/logout", json={"csrf": "forged"}), 401, errors.UNAUTHORIZED)
    refused(await http.post(f"{ACCOUNT_URL}/logout", json={"csrf": 7}), 400, errors.OUT_OF_RANGE)
    assert (await http.post(f"{ACCOUNT_URL}/refresh", json={"csrf": agent.csrf})).status_code == 200
    assert (await http.post(f"{ACCOUNT_URL}/logout", json={"csrf": agent.csrf})).status_code == 200
    refused(await agent.get(f"{agent.session}/info"), 401, errors.UNAUTHORIZED)


async def test_a_bearer_expires_on_the_clock(http, engine, clock):
    agent = await Agent.log_in(http)
    clock.advance(engine.settings.session_ttl + 1)
    refused(await agent.get(f"{agent.session}/info"), 401, errors.UNAUTHORIZED)
