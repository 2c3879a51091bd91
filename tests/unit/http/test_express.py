"""The express lane (``http/express.py``) answers exactly as Starlette's chain does: each request
below goes to the same app twice, once through the lane and once with the lane off, and both
answers must be the same (status, headers but the request id, body)."""

from __future__ import annotations

import pytest

from parley.services.accounts import DEMO_ACCOUNT
from tests.unit.conftest import log_in
from tests.unit.http.conftest import ACCOUNT_URL, APP_KEY

Q = f"v=1&NC=true&{APP_KEY}"
LINE = '{"event":{"@type":"line","text":"hello"}}'
ORIGIN = {"Origin": "https://shop.example"}
# (method, URL under the chat, headers, body): main paths, refusals, and what must fall through.
CASES = [
    ("GET", f"/events.json?{Q}&from=1", {}, None),
    ("GET", f"/events?{Q}", {"Accept": "application/xml"}, None),
    ("GET", f"/events.xml?{Q}&from=2", ORIGIN, None),
    ("GET", f"/events.json?{Q}&from=9999", {}, None),
    ("GET", f".json?{Q}", {}, None),
    ("GET", f"?{Q}&from=2", {}, None),
    ("GET", f"0/events.json?{Q}", {}, None),  # another chat id of the same shape: no such chat, 404
    ("POST", f"0/events.json?{Q}", {}, LINE),
    ("GET", f"/events.json?{Q}&from=soon", {}, None),
    ("GET", f"/events.json?{Q}&wait=long", {}, None),
    ("GET", "/events.json?v=1&appKey=wrong", {}, None),
    ("GET", f"/events.json?{Q}&v=2", {}, None),
    ("GET", f"/events.json?{Q}", {"Authorization": "Bearer nobody"}, None),
    ("GET", f"//events/?{Q}", {}, None),
    ("HEAD", f"/events.json?{Q}", {}, None),
    ("PUT", f"/events.json?{Q}", {}, LINE),
    ("DELETE", f"/events.json?{Q}", {}, None),
    ("POST", f"/events.json?{Q}", {"X-HTTP-Method-Override": "PUT"}, LINE),
    ("POST", f"/events.json?{Q}", {"Content-Type": "application/json"}, '{"event":{"@type":"line","text":" "}}'),
    ("POST", f"/events.json?{Q}", {"Content-Type": "application/json"}, "{not json"),
    ("POST", f"/events.json?{Q}", {"Content-Type": "application/json"}, '{"event":{"@type":"state","state":"x"}}'),
    ("POST", f"/events.json?{Q}", {"Content-Type": "application/json"}, '{"line":{}}'),
    ("POST", f"/events?{Q}", {"Content-Type": "application/xml"}, "<event type='line'><text>hi</text></event"),
    ("POST", f"/events.json?{Q}", {"Content-Type": "application/json", **ORIGIN}, '{"event":{"@type":"line"}}'),
    ("OPTIONS", f"/events.json?{Q}", ORIGIN, None),
]


async def answer(http, gateway, express: bool, method: str, url: str, headers: dict, body: str | None):
    lane, gateway.express = gateway.express, gateway.express if express else None
    try:
        response = await http.request(method, url, headers=headers, content=body)
    finally:
        gateway.express = lane
    kept = sorted((name, value) for name, value in response.headers.items() if name != "x-request-id")
    return response.status_code, kept, response.content


@pytest.fixture
async def chat(http, agents) -> str:
    """An open chat: an agent is logged in, so it waits for her instead of ending at once."""
    await log_in(agents)
    created = await http.post(f"{ACCOUNT_URL}/chat/request.json?{Q}", json={"request": {"skill": "Sales"}})
    assert created.status_code == 201, created.text
    return created.headers["location"]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{m} {u.split('?')[0] or '/'} {i}" for i, (m, u, _, _) in enumerate(CASES)]
)
async def test_the_lane_answers_as_starlette_does(http, app, chat, case):
    method, under, headers, body = case
    through_lane = await answer(http, app, True, method, chat + under, headers, body)
    through_starlette = await answer(http, app, False, method, chat + under, headers, body)
    assert through_lane == through_starlette
    if method == "POST" and "Override" not in str(headers):
        assert through_lane[0] in (400, 404), through_lane  # each is refused: the chat stays as it was


async def test_a_line_is_stored_and_located_alike(http, app, chat):
    url = f"{chat}/events.json?{Q}"
    headers = {"Content-Type": "application/json", **ORIGIN}
    first = await answer(http, app, True, "POST", url, headers, LINE)
    second = await answer(http, app, False, "POST", url, headers, LINE)
    assert first[0] == second[0] == 201
    located = [dict(answer[1])["location"] for answer in (first, second)]
    assert located[0].startswith(chat + "/events/") and located[1].startswith(chat + "/events/")
    assert int(located[1].rsplit("/", 1)[1]) == int(located[0].rsplit("/", 1)[1]) + 1
    assert [name for name, _ in first[1]] == [name for name, _ in second[1]]
    events = (await http.get(f"{chat}/events.json?{Q}")).json()["events"]["event"]
    assert [event["text"] for event in events if event["@type"] == "line"][-2:] == ["hello", "hello"]


async def test_only_the_hot_routes_take_the_lane(app):
    chat = f"/api/account/{DEMO_ACCOUNT}/chat/H1-0aK1"
    taken = [(method, path) for method, path in CASES_FOR_LANE if app.express.lane(method, path) is not None]
    assert taken == [("GET", chat + "/events"), ("POST", chat + "/events"), ("GET", chat)]
    found = app.express.lane("GET", chat + "/events")
    assert found[1] == {"account_id": DEMO_ACCOUNT, "chat_id": "H1-0aK1"}


CASES_FOR_LANE = [
    ("GET", f"/api/account/{DEMO_ACCOUNT}/chat/H1-0aK1/events"),
    ("POST", f"/api/account/{DEMO_ACCOUNT}/chat/H1-0aK1/events"),
    ("GET", f"/api/account/{DEMO_ACCOUNT}/chat/H1-0aK1"),
    ("HEAD", f"/api/account/{DEMO_ACCOUNT}/chat/H1-0aK1/events"),
    ("PUT", f"/api/account/{DEMO_ACCOUNT}/chat/H1-0aK1/events"),
    ("GET", f"/api/account/{DEMO_ACCOUNT}/chat/H1-0aK1/events/3"),
    ("GET", f"/api/account/{DEMO_ACCOUNT}/chat/H1-0aK1/info"),
    ("GET", f"/api/account/{DEMO_ACCOUNT}/chat/availability"),
    ("POST", f"/api/account/{DEMO_ACCOUNT}/chat/request"),
    ("GET", "/health"),
]
