"""Whatever a client sends, the answer is never a 5xx (compatibility rule 14)."""

from __future__ import annotations

import itertools

from tests.e2e.conftest import ACCOUNT, q
from tests.e2e.test_chat_resource import accepted_chat

BODIES = [
    (b"", None),
    (b"{}", "application/json"),
    (b"[]", "application/json"),
    (b'"text"', "application/json"),
    (b"null", "application/json"),
    (b'{"event": 5}', "application/json"),
    (b'{"event": {"@type": ["line"], "text": ["a", "b"]}}', "application/json"),
    (b'{"event": {"@type": "line", "text": "\\u0000\\u000b"}}', "application/json"),
    (b'{"request": {"skill": {"deep": [1, {"x": null}]}, "visitorId": 1e400, "maxWaitTime": 1.5}}', "application/json"),
    (b'{"transfer": {"skill": "Sales", "agent": [1]}}', "application/json"),
    (b'{"availability": {"chat": 3}}', "application/json"),
    (b'{"survey": {"id": "x", "question": {"id": [1], "answer": {"a": 1}}}}', "application/json"),
    (b'{"visitorName": {"first": "Ann"}, "agentTyping": 1, "visitorTyping": []}', "application/json"),
    (b'{"email": 5, "timezoneOffset": "soon", "transcriptRequest": 7}', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"<event type='line'><text><b>nested</b></text></event>", "application/xml"),
    (b"<a:event xmlns:a='urn:x'/>", "application/xml"),
    (b"<event>" * 2000, "application/xml"),
    (b"not xml at all", "text/xml"),
    (b'{"event": {"@type": "line", "text": "\\ud800"}}', "application/json"),
]


def test_every_route_survives_every_bad_body(server, http):
    chat_uri, agent_chat = accepted_chat(server, http)
    base = f"{server.url}/api/account/{ACCOUNT}"
    bearer = http.post(f"{base}/login", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
    session = agent_chat.split("/chat/")[0]
    visitor_paths = [
        "",
        "/chat/availability",
        "/chat/request",
        "/chat/preSurvey",
        "/chat/offlineSurvey",
        "/conversation",
        "/login",
        "/refresh",
        "/logout",
        "/agentSession",
        "/app/engagement/visitors",
        "/service/agentVep/baseURI",
    ]
    chat_paths = [
        "",
        "/events",
        "/events/1",
        "/events/99999999999999999999",
        "/info",
        "/info/visitorName",
        "/info/visitorTyping",
        "/info/agentTyping",
        "/transcriptRequest",
        "/transcriptWithSubjectRequest",
        "/exitSurvey",
        "/customVariables",
    ]
    agent_paths = [
        "",
        "/info",
        "/availability",
        "/incomingRequests",
        "/chatSessions",
        "/availableAgents",
        "/chat",
        "/chat/availableSlots",
        "/participantExtendedInfo/x",
        "/visits/visit/x",
    ]
    agent_chat_paths = [
        "",
        "/events",
        "/events/0",
        "/info",
        "/info/agentTyping",
        "/transfer",
        "/transferAccount",
        "/survey",
        "/collaborationChannels",
    ]
    targets = (
        [(base + p, "visitor") for p in visitor_paths]
        + [(chat_uri + p, "visitor") for p in chat_paths]
        + [(session + p, "agent") for p in agent_paths]
        + [(agent_chat + p, "agent") for p in agent_chat_paths]
    )
    failures = []
    for (url, side), (body, content_type), method in itertools.product(targets, BODIES, ["POST", "PUT"]):
        headers = {"Authorization": f"Bearer {bearer}"} if side == "agent" else {}
        if content_type:
            headers["Content-Type"] = content_type
        query = "?v=1&from=0&wait=0" if side == "agent" else f"?{q('from=0')}"
        response = http.request(method, url + ".json" + query, content=body, headers=headers)
        if response.status_code >= 500:
            failures.append((method, url, body[:60], response.status_code, response.text[:200]))
    for url, _ in targets:
        for query in ("?from=-1", "?from=abc&v=9", "?wait=x", "?chatSessionKeys=,,&fromEventIds=a", "?skill=&agent="):
            response = http.get(url + query, headers={"Authorization": f"Bearer {bearer}"})
            if response.status_code >= 500:
                failures.append(("GET", url + query, b"", response.status_code, response.text[:200]))
    assert failures == []
