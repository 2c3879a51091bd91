"""The visitor handlers (Server Chat API) in process: main paths and refusals, manual clock."""

from __future__ import annotations

import pytest

from parley.services import timers
from parley.wire import errors
from tests.unit.conftest import log_in
from tests.unit.http.conftest import ACCOUNT_URL, APP_KEY

Q = f"v=1&NC=true&{APP_KEY}"


def events_of(body: dict) -> list[dict]:
    events = body["events"].get("event", [])
    return events if isinstance(events, list) else [events]


def refused(response, status: int, code: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["internalCode"] == code


async def new_chat(http, **request) -> str:
    created = await http.post(f"{ACCOUNT_URL}/chat/request.json?{Q}", json={"request": {"skill": "Sales", **request}})
    assert created.status_code == 201, created.text
    return created.headers["location"]


@pytest.fixture
async def agent_on(agents):
    """Natalie logged in with an agent session: chats on Sales wait for her instead of ending."""
    return await log_in(agents)


async def test_account_entry_links_every_visitor_resource(http, account_id):
    body = (await http.get(f"{ACCOUNT_URL}.json?{Q}")).json()["account"]
    assert body["@id"] == account_id
    rels = [link["@rel"] for link in body["link"]]
    assert rels[0] == "self" and "chat-request" in rels and "chat-availability" in rels


async def test_availability_follows_the_agents(http, agent_on):
    assert (await http.get(f"{ACCOUNT_URL}/chat/availability.json?{Q}&skill=Sales")).json() == {"availability": True}
    assert (await http.get(f"{ACCOUNT_URL}/chat/availability.json?{Q}&skill=Support")).json() == {"availability": False}
    several = (await http.get(f"{ACCOUNT_URL}/chat/availability.json?{Q}&skill=Sales&skill=Support")).json()
    items = several["availability"]["AvailabilityForSkills"]["skillAvailability"]
    assert [(item["skill"], item["isAvailable"]) for item in items] == [("Sales", True), ("Support", False)]
    slots = (await http.get(f"{ACCOUNT_URL}/chat/availableSlots.json?{Q}&skill=Sales")).json()
    assert slots == {"availableSlots": 4}
    wait = await http.get(f"{ACCOUNT_URL}/chat/estimatedWaitTime.json?{Q}&skill=Sales")
    assert wait.status_code == 200 and "estimatedWaitTime" in wait.json()


async def test_availability_refusals(http):
    refused(
        await http.get(f"{ACCOUNT_URL}/chat/availability.json?{Q}&agent=natalie&skill=Sales"), 400, errors.OUT_OF_RANGE
    )
    refused(await http.get(f"{ACCOUNT_URL}/chat/availability.json?{Q}&maxWaitTime=soon"), 400, errors.OUT_OF_RANGE)
    refused(await http.get(f"{ACCOUNT_URL}/chat/estimatedWaitTime.json?{Q}&agent=natalie"), 400, errors.OUT_OF_RANGE)
    refused(await http.get(f"{ACCOUNT_URL}/chat/availability.json?v=1&appKey=wrong"), 401, errors.UNAUTHORIZED)
    refused(await http.get(f"/api/account/999/chat/availability.json?{Q}"), 404, errors.NOT_FOUND)


async def test_a_chat_from_request_to_end(http, agent_on):
    chat = await new_chat(http, preChatLines={"line": ["from the pricing page"]})
    body = (await http.get(f"{chat}.json?{Q}")).json()["chat"]
    assert [link["@rel"] for link in body["link"]][:3] == ["self", "events", "info"]
    opening = events_of(body)
    assert opening[0]["@type"] == "state" and opening[0]["state"] == "waiting"
    assert "from the pricing page" not in str(opening)  # pre-chat lines are for agents only
    said = await http.post(f"{chat}/events.json?{Q}", json={"event": {"@type": "line", "text": "hello?"}})
    assert said.status_code == 201 and said.headers["location"].startswith(f"{chat}/events/")
    line_id = said.headers["location"].rsplit("/", 1)[1]
    line = (await http.get(f"{chat}/events/{line_id}.json?{Q}")).json()["event"]
    assert line["@type"] == "line" and line["text"] == "hello?" and line["source"] == "visitor"
    news = events_of((await http.get(f"{chat}/events.json?{Q}&from={line_id}")).json())
    assert [event["text"] for event in news] == ["hello?"]
    assert (await http.put(f"{chat}/info/visitorName.json?{Q}", json={"visitorName": "Ann"})).status_code == 200
    assert (await http.get(f"{chat}/info/visitorName.json?{Q}")).json() == {"visitorName": "Ann"}
    assert (await http.put(f"{chat}/info/visitorTyping.json?{Q}", json={"visitorTyping": "typing"})).status_code == 200
    assert (await http.get(f"{chat}/info/visitorTyping.json?{Q}")).json() == {"visitorTyping": "typing"}
    assert (await http.get(f"{chat}/info/agentTyping.json?{Q}")).json() == {"agentTyping": "unknown"}  # no agent yet
    variables = {"customVariables": {"customVariable": [{"name": "plan", "value": "gold"}]}}
    assert (await http.put(f"{chat}/customVariables.json?{Q}", json=variables)).status_code == 200
    info = (await http.get(f"{chat}/info.json?{Q}")).json()["info"]
    assert info["visitorName"] == "Ann" and info["state"] == "waiting"
    ended = await http.post(f"{chat}/events.json?{Q}", json={"event": {"@type": "state", "state": "ended"}})
    assert ended.status_code == 201
    assert (await http.get(f"{chat}/info.json?{Q}")).json()["info"]["state"] == "ended"
    refused(
        await http.post(f"{chat}/events.json?{Q}", json={"event": {"@type": "line", "text": "late"}}),
        403,
        errors.UNAUTHORIZED,
    )


async def test_xml_is_the_default_answer(http, agent_on):
    chat = await new_chat(http)
    answer = await http.get(f"{chat}?{Q}")
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.content.startswith(b"<?xml") and b"<chat>" in answer.content


async def test_chat_refusals(http, agent_on):
    chat = await new_chat(http)
    refused(await http.get(f"{ACCOUNT_URL}/chat/H1-0K1.json?{Q}"), 404, errors.NOT_FOUND)
    refused(await http.get(f"{chat}/events.json?{Q}&from=soon"), 400, errors.OUT_OF_RANGE)
    refused(await http.get(f"{chat}/events.json?{Q}&wait=51"), 400, errors.OUT_OF_RANGE)
    refused(await http.get(f"{chat}/events/999.json?{Q}"), 404, errors.NOT_FOUND)
    refused(
        await http.post(f"{chat}/events.json?{Q}", json={"event": {"@type": "line", "text": "  "}}),
        400,
        errors.OUT_OF_RANGE,
    )
    refused(await http.post(f"{chat}/events.json?{Q}", json={"event": {"@type": "dance"}}), 400, errors.OUT_OF_RANGE)
    refused(
        await http.post(f"{chat}/events.json?{Q}", content=b"{not json", headers={"Content-Type": "application/json"}),
        400,
        errors.BAD_BODY,
    )
    refused(
        await http.put(f"{chat}/info/visitorTyping.json?{Q}", json={"visitorTyping": "maybe"}), 400, errors.OUT_OF_RANGE
    )
    refused(
        await http.put(f"{chat}/info/visitorName.json?{Q}", json={"visitorName": "x" * 101}), 400, errors.OUT_OF_RANGE
    )
    refused(await http.delete(f"{chat}.json?{Q}"), 405, errors.METHOD)
    refused(await http.get(f"{chat}.json?v=1&appKey=wrong"), 401, errors.UNAUTHORIZED)
    huge = {"event": {"@type": "line", "text": "x" * 2_000_000}}
    refused(await http.post(f"{chat}/events.json?{Q}", json=huge), 413, errors.TOO_LARGE)


async def test_a_retried_line_with_the_same_key_is_written_once(http, agent_on):
    chat = await new_chat(http)
    line = {"event": {"@type": "line", "text": "only once"}}
    first = await http.post(f"{chat}/events.json?{Q}", json=line, headers={"Idempotency-Key": "k-1"})
    again = await http.post(f"{chat}/events.json?{Q}", json=line, headers={"Idempotency-Key": "k-1"})
    assert first.headers["location"] == again.headers["location"]
    texts = [e.get("text") for e in events_of((await http.get(f"{chat}/events.json?{Q}")).json())]
    assert texts.count("only once") == 1


async def test_nobody_to_take_the_chat_ends_it_at_once(http):
    chat = await new_chat(http)
    events = events_of((await http.get(f"{chat}/events.json?{Q}")).json())
    assert events[-1]["@type"] == "state" and events[-1]["state"] == "ended"


async def test_a_silent_visitor_is_timed_out_on_the_clock(http, engine, clock, agent_on):
    chat = await new_chat(http, interactionTimeout=40)
    clock.advance(30)
    await timers.sweep(engine)
    assert (await http.get(f"{chat}/info.json?{Q}")).json()["info"]["state"] != "ended"
    clock.advance(60)  # that read was the visitor's last sign of life; now 60 s of silence
    await timers.sweep(engine)
    assert (await http.get(f"{chat}/info.json?{Q}")).json()["info"]["state"] == "ended"
