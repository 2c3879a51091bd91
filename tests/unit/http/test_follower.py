"""Which requests a follower answers from its own view, and which go to the leader."""

from __future__ import annotations

import pytest

from parley.http.follower import answered_here

CHAT = "/api/account/12345/chat/H1234567890123456789-0123456789abcdef0123456789abcdefK1234567"


def scope(method: str, path: str, *headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "method": method, "path": path, "headers": list(headers)}


@pytest.mark.parametrize(
    "path",
    [
        CHAT,
        CHAT + "/events",
        CHAT + "/events/7",
        CHAT + "/info",
        CHAT + "/info/visitorName",
        CHAT + "/info/visitorTyping",
        CHAT + "/info/agentTyping",
        "/health",
        "/ready",
        "/openapi",
        "/metrics",
        "/widget/embed.js",
        "/hcp/html/postmessage.min.html",
    ],
)
def test_reads_of_a_chat_and_stateless_pages_are_answered_here(path):
    assert answered_here(scope("GET", path))


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", CHAT + "/events"),  # a line: a change, made by the leader
        ("PUT", CHAT + "/info/visitorTyping"),
        ("DELETE", CHAT),
        ("GET", CHAT + "/exitSurvey"),  # surveys, transcripts: not in the view
        ("GET", CHAT + "/transcript"),
        ("GET", "/api/account/12345/chat/availability"),  # availability needs the agents' presence
        ("GET", "/api/account/12345/chat/estimatedWaitTime"),
        ("GET", "/api/account/12345/agentSession/77/incomingRequests"),  # the whole agent side
        ("POST", "/api/account/12345/login"),
        ("GET", "/api/account/12345/js2rest"),  # a tunnelled call may write
        ("GET", CHAT + "/events/7/extra"),
    ],
)
def test_everything_else_goes_to_the_leader(method, path):
    assert not answered_here(scope(method, path))


def test_a_visitor_read_with_a_bearer_goes_to_the_leader_which_holds_the_logins():
    assert not answered_here(scope("GET", CHAT + "/events", (b"authorization", b"Bearer abc")))
