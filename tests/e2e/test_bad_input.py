"""Malformed or hostile input gets the spec's error body and status, and changes nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ACCOUNT, q
from tests.e2e.test_chat_resource import accepted_chat


def count_events(http, chat_uri: str) -> int:
    chat = http.get(f"{chat_uri}.json?{q()}").json()["chat"]
    return int(chat["link"][3]["@href"].rsplit("=", 1)[1])


BAD_EVENT_BODIES = [
    (b"{not json", "application/json", 400, 5),
    (b"[1, 2]", "application/json", 400, 5),
    (b'{"event": {"@type": "line"}}', "application/json", 400, 11),
    (b'{"event": {"@type": "line", "text": "   "}}', "application/json", 400, 11),
    (b'{"event": {"@type": "line", "text": 42}}', "application/json", 201, None),
    (b'{"event": {"@type": "line", "text": {"a": 1}}}', "application/json", 400, 11),
    (b'{"event": {"@type": "dance"}}', "application/json", 400, 11),
    (b'{"event": {"@type": "state", "state": "chatting"}}', "application/json", 400, 11),
    (b'{"something": "else"}', "application/json", 400, 5),
    # Found by tests/e2e/test_fuzz.py: stored, this name made every XML read of the chat a 500.
    ('{"event": {"@type": "line-status", "8\u00a1": "x"}}'.encode(), "application/json", 400, 11),
    (b'{"event": {"@type": "leCollaboration", "a b": "x"}}', "application/json", 400, 11),
    (b"<event type='line'><text>unclosed</event>", "application/xml", 400, 5),
    (
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<event type="line"><text>&x;</text></event>',
        "application/xml",
        400,
        5,
    ),
    (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<event type="line"><text>&lol2;</text></event>',
        "application/xml",
        400,
        5,
    ),
]


@pytest.mark.parametrize("body, content_type, status, code", BAD_EVENT_BODIES)
def test_bad_visitor_events_change_nothing(server, http, body, content_type, status, code):
    chat_uri, _ = accepted_chat(server, http)
    before = count_events(http, chat_uri)
    response = http.post(f"{chat_uri}/events.json?{q()}", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    if code is None:
        assert count_events(http, chat_uri) == before + 1
        return
    error = response.json()["error"]
    assert error["internalCode"] == code and error["message"] and error["time"]
    assert count_events(http, chat_uri) == before


def test_oversized_body_is_refused(server, http):
    chat_uri, _ = accepted_chat(server, http)
    before = count_events(http, chat_uri)
    huge = b'{"event": {"@type": "line", "text": "' + b"x" * (1024 * 1024 + 10) + b'"}}'
    response = http.post(f"{chat_uri}/events.json?{q()}", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["internalCode"] == 14
    assert count_events(http, chat_uri) == before


def test_line_on_ended_chat_is_forbidden_and_second_end_is_idempotent(server, http):
    chat_uri, _ = accepted_chat(server, http)
    end = {"event": {"@type": "state", "state": "ended"}}
    first = http.post(f"{chat_uri}/events.json?{q()}", json=end)
    assert first.status_code == 201
    after_end = count_events(http, chat_uri)
    again = http.post(f"{chat_uri}/events.json?{q()}", json=end)
    assert again.status_code == 201 and again.headers["location"] == first.headers["location"]
    line = http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "late"}})
    assert line.status_code == 403 and line.json()["error"]["internalCode"] == 10
    name = http.put(f"{chat_uri}/info/visitorName.json?{q()}", json={"visitorName": "Late"})
    assert name.status_code == 403
    assert count_events(http, chat_uri) == after_end
    assert http.get(f"{chat_uri}.json?{q()}").status_code == 200  # ended chats stay readable


def test_unknown_chat_and_event(server, http):
    base = f"{server.url}/api/account/{ACCOUNT}"
    missing = http.get(f"{base}/chat/H1234567890123456789-00000000000000000000000000000000K1234567.json?{q()}")
    assert missing.status_code == 404 and missing.json()["error"]["internalCode"] == 12
    chat_uri, _ = accepted_chat(server, http)
    assert http.get(f"{chat_uri}/events/2.json?{q()}").status_code == 404  # agent-only: invisible to the visitor
    assert http.get(f"{chat_uri}/events/999.json?{q()}").status_code == 404
    assert http.get(f"{chat_uri}/events/x.json?{q()}").status_code == 404
    other = http.get(f"{server.url}/api/account/other/chat/{chat_uri.rsplit('/', 1)[1]}.json?{q()}")
    assert other.status_code == 404


@pytest.mark.parametrize(
    "path, body",
    [
        ("/info/visitorName", {"visitorName": ""}),
        ("/info/visitorName", {"visitorName": "x" * 101}),
        ("/info/visitorName", {"wrong": "Ann"}),
        ("/info/visitorTyping", {"visitorTyping": "maybe"}),
        ("/customVariables", {"customVariables": {"customVariable": [{"value": "no name"}]}}),
    ],
)
def test_bad_puts(server, http, path, body):
    chat_uri, _ = accepted_chat(server, http)
    response = http.put(f"{chat_uri}{path}.json?{q()}", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["internalCode"] in (5, 11)
    assert http.get(f"{chat_uri}/info/visitorName.json?{q()}").json() == {"visitorName": "You"}


@pytest.mark.parametrize("query", ["maxWaitTime=-1", "maxWaitTime=86401", "maxWaitTime=soon", "agent=bob&skill=Sales"])
def test_availability_parameters_out_of_range(server, http, query):
    response = http.get(f"{server.url}/api/account/{ACCOUNT}/chat/availability.json?{q(query)}")
    assert response.status_code == 400 and response.json()["error"]["internalCode"] == 11


def test_bad_chat_requests_create_nothing(server, http):
    base = f"{server.url}/api/account/{ACCOUNT}"
    for body in (
        b"{",
        b'{"request": {"maxWaitTime": "forever"}}',
        b'{"request": {"preChatLines": {"x": 1}}}',
        b'{"request": {"queuePriority": "high"}}',
    ):
        response = http.post(
            f"{base}/chat/request.json?{q()}", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, body
        assert "location" not in response.headers
    # Ids are never a reason for 400 (compatibility rule 3).
    odd = http.post(f"{base}/chat/request.json?{q()}", json={"request": {"skillId": "abc", "visitorId": "x"}})
    assert odd.status_code == 201


def test_agent_side_errors(server, http):
    _, agent_uri = accepted_chat(server, http)
    base = f"{server.url}/api/account/{ACCOUNT}"
    bob = http.post(f"{base}/login?v=1.3", json={"username": "bob", "password": "bob-secret"}).json()["bearer"]
    natalie = http.post(f"{base}/login?v=1.3", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
    assert http.get(f"{agent_uri}.json", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.get(f"{agent_uri}.json").status_code == 401
    # Another user's bearer on Natalie's agent session: 401.
    assert http.get(f"{agent_uri}.json", headers={"Authorization": f"Bearer {bob}"}).status_code == 401
    session_uri = agent_uri.split("/chat/")[0]
    unknown_session = session_uri.rsplit("/", 1)[0] + "/1"
    assert http.get(f"{unknown_session}.json", headers={"Authorization": f"Bearer {natalie}"}).status_code == 404
    auth = {"Authorization": f"Bearer {natalie}"}
    for body in (
        {"event": {"@type": "line", "text": "x", "textType": "bold"}},
        {"event": {"@type": "line", "text": "x", "subType": "SECRET"}},
        {"event": {"@type": "line", "textType": "rich-content", "json": {"no": "type"}}},
        {"event": {"@type": "state", "state": "waiting"}},
    ):
        response = http.post(f"{agent_uri}/events.json", json=body, headers=auth)
        assert response.status_code == 400, body
    bad_availability = http.put(
        f"{session_uri}/availability.json", json={"availability": {"chat": "Sleeping"}}, headers=auth
    )
    assert bad_availability.status_code == 400
    nothing = http.post(f"{session_uri}/incomingRequests.json", json={}, headers=auth)
    assert nothing.status_code == 404 and nothing.json()["error"]["internalCode"] == 12
    broken = http.post(
        f"{session_uri}/incomingRequests.json", content=b"{oops", headers={**auth, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["internalCode"] == 5
    wrong_login = http.post(f"{base}/login?v=1.3", json={"username": "natalie", "password": "nope"})
    assert wrong_login.status_code == 401
    assert wrong_login.json()["error"]["responseStatus"] == "UNAUTHORIZED"
