"""Push on the same cursor: long-poll, server-sent events, idempotent sends (issue 4)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson

from tests.e2e.conftest import ACCOUNT, q
from tests.e2e.test_agent_api import Agent, start_chat
from tests.e2e.test_chat_resource import accepted_chat


def events_of(body: dict) -> list[dict]:
    events = body["events"].get("event", [])
    return events if isinstance(events, list) else [events]


def later(seconds: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


def test_long_poll_wakes_on_the_other_sides_line(server, http):
    chat_uri, agent_uri = accepted_chat(server, http)
    bearer = http.post(f"{server.url}/api/account/{ACCOUNT}/login", json={
        "username": "natalie", "password": "natalie"}).json()["bearer"]
    poster = later(0.5, lambda: httpx.post(f"{agent_uri}/events.json", headers={"Authorization": f"Bearer {bearer}"},
                                           json={"event": {"@type": "line", "text": "pushed"}}))
    started = time.monotonic()
    body = http.get(f"{chat_uri}/events.json?{q('from=5&wait=30')}").json()
    elapsed = time.monotonic() - started
    poster.join()
    assert [e["text"] for e in events_of(body)] == ["pushed"]
    assert elapsed < 15  # woken by the line, long before the 30 s deadline


def test_long_poll_answers_at_once_when_something_is_there_and_like_a_plain_poll_at_the_deadline(server, http):
    chat_uri, _ = accepted_chat(server, http)
    started = time.monotonic()
    ready = http.get(f"{chat_uri}/events.json?{q('from=0&wait=30')}").json()
    assert time.monotonic() - started < 15 and len(events_of(ready)) == 4
    started = time.monotonic()
    held = http.get(f"{chat_uri}/events.json?{q('from=5&wait=1')}")
    assert time.monotonic() - started >= 1
    plain = http.get(f"{chat_uri}/events.json?{q('from=5')}")
    assert held.content == plain.content  # same bytes as the plain poll
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
        time.sleep(1.0)
        http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "to all"}})
        results = [h.result(timeout=20) for h in holders]
    assert all([e["text"] for e in r] == ["to all"] for r in results)


def test_ring_count_long_poll(server, http):
    agent = Agent(server, http)
    later(0.5, lambda: start_chat(server, http, skill="Sales"))
    started = time.monotonic()
    ring = http.get(f"{agent.session}/incomingRequests.json?wait=30", headers=agent.auth).json()
    assert ring["incomingRequests"]["ringingCount"] == "1" and time.monotonic() - started < 15


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
    later(0.5, lambda: httpx.post(f"{chat_uri}/events.json?{q()}",
                                  json={"event": {"@type": "state", "state": "ended"}}))
    second = read_stream(stream_url, {**accept, "Last-Event-ID": str(first[-1][0])}, 100)  # ends after "ended"
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
    assert http.get(f"{natalie.session}/incomingRequests.json", headers=natalie.auth).json()[
        "incomingRequests"]["ringingCount"] == "1"
    accept = {**natalie.auth, "Idempotency-Key": "a-1"}
    taken = http.post(f"{natalie.session}/incomingRequests.json", json={}, headers=accept)
    retaken = http.post(f"{natalie.session}/incomingRequests.json", json={}, headers=accept)
    assert taken.status_code == retaken.status_code == 201 and taken.json() == retaken.json()
    agent_chat = taken.json()["chatLocation"]["link"]["@href"]
    bob.put("/availability", {"availability": {"chat": "Online"}})
    body = {"transfer": {"skill": {"id": 2}}}
    moved = http.post(f"{agent_chat}/transfer.json", json=body, headers={**natalie.auth, "Idempotency-Key": "t-1"})
    moved_again = http.post(f"{agent_chat}/transfer.json", json=body, headers={**natalie.auth, "Idempotency-Key": "t-1"})
    assert moved.status_code == moved_again.status_code == 200
    events = events_of(http.get(f"{first.headers['location']}/events.json?{q()}").json())
    assert [e.get("systemMessageId") for e in events].count(15) == 1
