"""Push on the same cursor: long-poll, server-sent events, idempotent sends (issue 4)."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ACCOUNT, q
from tests.e2e.test_agent_api import Agent, start_chat
from tests.e2e.test_chat_resource import accepted_chat


def events_of(body: dict) -> list[dict]:
    events = body["events"].get("event", [])
    return events if isinstance(events, list) else [events]


def held(server, kind: str = "poll") -> int:
    """Requests the server holds open now, as its /metrics says (the test runs on loopback)."""
    for family in text_string_to_metric_families(httpx.get(f"{server.url}/metrics").text):
        for sample in family.samples:
            if sample.name == "parley_held_requests" and sample.labels == {"kind": kind}:
                return int(sample.value)
    raise AssertionError("no parley_held_requests in /metrics")


def until_held(server, count: int, kind: str = "poll") -> None:
    """Return once the server holds ``count`` requests of that kind (they really wait)."""
    deadline = time.monotonic() + 20
    while held(server, kind) != count:
        assert time.monotonic() < deadline, f"never {count} held {kind}s (now {held(server, kind)})"
        time.sleep(0.02)


def in_background(action) -> Future:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(action)
    pool.shutdown(wait=False)
    return future


def test_long_poll_wakes_on_the_other_sides_line(server, http):
    chat_uri, agent_uri = accepted_chat(server, http)
    bearer = http.post(
        f"{server.url}/api/account/{ACCOUNT}/login", json={"username": "natalie", "password": "natalie"}
    ).json()["bearer"]
    poll = in_background(lambda: httpx.get(f"{chat_uri}/events.json?{q('from=5&wait=50')}", timeout=60).json())
    until_held(server, 1)  # the poll waits: nothing was there when it came
    httpx.post(
        f"{agent_uri}/events.json",
        headers={"Authorization": f"Bearer {bearer}"},
        json={"event": {"@type": "line", "text": "pushed"}},
    )
    # At its 50 s deadline it would have answered nothing: the line is what woke it.
    assert [e["text"] for e in events_of(poll.result(timeout=60))] == ["pushed"]
    assert held(server) == 0


def test_long_poll_answers_at_once_when_something_is_there_and_like_a_plain_poll_at_the_deadline(server, http):
    chat_uri, _ = accepted_chat(server, http)
    # Events are there: answered without holding (a hold would outlast this client's patience).
    ready = httpx.get(f"{chat_uri}/events.json?{q('from=0&wait=50')}", timeout=20).json()
    assert len(events_of(ready)) == 4
    waiting = in_background(lambda: httpx.get(f"{chat_uri}/events.json?{q('from=5&wait=3')}", timeout=20))
    until_held(server, 1)
    held_answer = waiting.result(timeout=20)
    assert held(server) == 0
    plain = http.get(f"{chat_uri}/events.json?{q('from=5')}")
    assert held_answer.content == plain.content  # same bytes as the plain poll
    as_xml = http.get(f"{chat_uri}?{q('from=5&wait=0.5')}")
    assert as_xml.content.startswith(b"<?xml") and b"<chat>" in as_xml.content
    for bad in ("51", "-1", "soon"):
        response = http.get(f"{chat_uri}/events.json?{q('wait=' + bad)}")
        assert response.status_code == 400 and response.json()["error"]["internalCode"] == 11


def test_many_holders_all_wake(server, http):
    chat_uri, _ = accepted_chat(server, http)

    def hold(_):
        with httpx.Client(timeout=40) as client:
            return events_of(client.get(f"{chat_uri}.json?{q('from=5&wait=30')}").json()["chat"])

    with ThreadPoolExecutor(max_workers=12) as pool:
        holders = [pool.submit(hold, i) for i in range(12)]
        until_held(server, 12)
        http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "to all"}})
        results = [h.result(timeout=20) for h in holders]
    assert all([e["text"] for e in r] == ["to all"] for r in results)


def test_ring_count_long_poll(server, http):
    agent = Agent(server, http)
    ring = in_background(
        lambda: httpx.get(f"{agent.session}/incomingRequests.json?wait=50", headers=agent.auth, timeout=60).json()
    )
    until_held(server, 1)  # no ring yet: the agent's poll waits
    start_chat(server, http, skill="Sales")
    assert ring.result(timeout=60)["incomingRequests"]["ringingCount"] == "1"


def read_stream(url: str, headers: dict, count: int) -> list[tuple[int, dict]]:
    """Up to ``count`` events from an event stream, then hang up."""
    got = []
    with httpx.Client(timeout=30) as client, client.stream("GET", url, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event_id = None
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                got.append((event_id, orjson.loads(line[6:])["event"]))
                if len(got) == count:
                    break
    return got


def test_event_stream_resumes_with_last_event_id_exactly_once(server, http):
    chat_uri, agent_uri = accepted_chat(server, http)
    stream_url = f"{chat_uri}/events?{q()}"
    accept = {"Accept": "text/event-stream"}
    for n in range(3):
        http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": f"v{n}"}})
    first = read_stream(stream_url, accept, 5)  # hang up mid-chat
    for n in range(3, 6):
        http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": f"v{n}"}})
    reading = in_background(lambda: read_stream(stream_url, {**accept, "Last-Event-ID": str(first[-1][0])}, 100))
    until_held(server, 1, "stream")  # it sent what was there and waits for more
    httpx.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    second = reading.result(timeout=30)  # ends after "ended"
    received = first + second
    expected = events_of(http.get(f"{chat_uri}/events.json?{q()}").json())
    assert [event for _, event in received] == expected
    assert [event_id for event_id, _ in received] == [int(e["@id"]) for e in expected]
    assert received[-1][1]["state"] == "ended"


def test_same_idempotency_key_appends_once(server, http):
    chat_uri, _ = accepted_chat(server, http)
    line = {"event": {"@type": "line", "text": "only once"}}
    headers = {"Idempotency-Key": "k-1"}
    first = http.post(f"{chat_uri}/events.json?{q()}", json=line, headers=headers)
    again = http.post(f"{chat_uri}/events.json?{q()}", json=line, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.headers["location"] == again.headers["location"]

    def send(_):
        with httpx.Client(timeout=20) as client:
            return client.post(f"{chat_uri}/events.json?{q()}", json=line, headers={"Idempotency-Key": "k-2"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, range(8)))
    assert len({a.headers["location"] for a in answers}) == 1
    by_message_id = {"event": {"@type": "line", "text": "via id", "clientMessageId": "m-7"}}
    a = http.post(f"{chat_uri}/events.json?{q()}", json=by_message_id)
    b = http.post(f"{chat_uri}/events.json?{q()}", json=by_message_id)
    assert a.headers["location"] == b.headers["location"]
    texts = [e.get("text") for e in events_of(http.get(f"{chat_uri}/events.json?{q()}").json())]
    assert texts.count("only once") == 2 and texts.count("via id") == 1  # k-1 once, k-2 once


def test_idempotent_chat_request_accept_and_transfer(server, http):
    natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    base = f"{server.url}/api/account/{ACCOUNT}"
    request = {"request": {"skill": "Sales"}}
    key = {"Idempotency-Key": "r-1-5f0c2d9e-4b7a"}  # chat-request keys must be hard to guess (16+)
    first = http.post(f"{base}/chat/request.json?{q()}", json=request, headers=key)
    again = http.post(f"{base}/chat/request.json?{q()}", json=request, headers=key)
    assert first.headers["location"] == again.headers["location"]
    assert (
        http.get(f"{natalie.session}/incomingRequests.json", headers=natalie.auth).json()["incomingRequests"][
            "ringingCount"
        ]
        == "1"
    )
    accept = {**natalie.auth, "Idempotency-Key": "a-1"}
    taken = http.post(f"{natalie.session}/incomingRequests.json", json={}, headers=accept)
    retaken = http.post(f"{natalie.session}/incomingRequests.json", json={}, headers=accept)
    assert taken.status_code == retaken.status_code == 201 and taken.json() == retaken.json()
    agent_chat = taken.json()["chatLocation"]["link"]["@href"]
    bob.put("/availability", {"availability": {"chat": "Online"}})
    body = {"transfer": {"skill": {"id": 2}}}
    moved = http.post(f"{agent_chat}/transfer.json", json=body, headers={**natalie.auth, "Idempotency-Key": "t-1"})
    moved_again = http.post(
        f"{agent_chat}/transfer.json", json=body, headers={**natalie.auth, "Idempotency-Key": "t-1"}
    )
    assert moved.status_code == moved_again.status_code == 200
    events = events_of(http.get(f"{first.headers['location']}/events.json?{q()}").json())
    assert [e.get("systemMessageId") for e in events].count(15) == 1
