"""The JS Chat SDK's browser transports at the wire (spec browser-transports.md §3.9, §4): the
bridge page's headers against the rest of the server's, JSONP callback validation, and what the
tunnel answers for good, bad and multi-part payloads. The browser itself: test_browser_transports.py."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from tests.e2e.conftest import ACCOUNT, KEY, shared_server
from tests.e2e.test_agent_api import Agent

PAGES = ["/hcp/html/postmessage.min.html", "/hcp/html/lpsunco/postmessage.html", "/postmessage/postmessage.min.html"]
AUTH = {
    "AUTHORIZATION": f"LivePerson appKey={KEY}",
    "Pragma": "no-cache",
    "Cache-Control": "private, max-age=0, no-cache, no-store",
}
SCRIPT = re.compile(r"^([\w$]+)\((.*)\);$", re.S)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module: these tests read and write only chats they create."""
    yield from shared_server(tmp_path_factory.mktemp("bridge"))


def tunnel_url(server, payload: dict | str, callback: str = "lpCb123x456", hint: str = "/chat") -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return f"{server.url}/api/account/{ACCOUNT}/js2rest{hint}?lpV=1&lpjson=1&lpB={quote(text, safe='')}&cb={callback}"


def called(response, callback: str = "lpCb123x456") -> dict:
    """The one argument of the one callback call the script makes."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "no-store" in response.headers["cache-control"]
    match = SCRIPT.match(response.text)
    assert match and match.group(1) == callback, response.text[:200]
    return json.loads(match.group(2))


def call(server, http, u: str, method: str = "GET", body="", headers=None, **kwargs) -> dict:
    payload = {"u": u, "m": method, "b": body, "h": AUTH if headers is None else headers}
    return called(http.get(tunnel_url(server, payload, **kwargs)), kwargs.get("callback", "lpCb123x456"))


@pytest.mark.parametrize("path", PAGES)
def test_the_bridge_page_may_be_framed_by_any_site_and_runs_only_its_own_script(server, http, path):
    page = http.get(f"{server.url}{path}?bust=1764690000000&loc=https%3A%2F%2Fwww.shop.example")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "x-frame-options" not in page.headers
    policy = [part.strip() for part in page.headers["content-security-policy"].split(";")]
    assert "frame-ancestors *" in policy and "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/postmessage/bridge.js"></script>' in page.text
    script = http.get(f"{server.url}/postmessage/bridge.js")
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert 'credentials: "omit"' in script.text


def test_other_answers_keep_their_policy(server, http):
    # Beside the bridge nothing is framable: no other answer carries frame-ancestors * (HTML answers
    # without a policy of their own get the gateway's DENY: tests/unit/http/test_gateway.py).
    answers = [
        http.get(f"{server.url}/hcp/html/other.html"),
        http.get(f"{server.url}/postmessage/other.html"),
        http.get(f"{server.url}/postmessage/bridge.js"),
        http.get(f"{server.url}/health"),
        http.get(f"{server.url}/api/account/{ACCOUNT}/chat/availability.json?v=1&appKey={KEY}"),
    ]
    for answer in answers:
        assert "frame-ancestors *" not in answer.headers.get("content-security-policy", ""), answer.url
    assert answers[0].status_code == answers[1].status_code == 404
    assert (
        answers[0].json()["error"]["internalCode"] == 12
        if "json" in answers[0].headers["content-type"]
        else b"<internalCode>12</internalCode>" in answers[0].content
    )


@pytest.mark.parametrize(
    "callback", ["a.b", "alert(1)//", "1abc", "x" * 65, "", "lpCb%3Cscript%3E", "a-b", "%E2%80%A8x", "\u00e9t\u00e9"]
)
def test_a_callback_that_is_not_a_plain_identifier_gets_400_and_no_script(server, http, callback):
    payload = {"u": f"/api/account/{ACCOUNT}/chat/availability?v=1&NC=true", "m": "GET", "b": "", "h": AUTH}
    answer = http.get(tunnel_url(server, payload, callback=callback))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["internalCode"] == 11 and "cb" in error["message"]
    assert http.get(f"{server.url}/api/account/{ACCOUNT}/js2rest?lpV=1").status_code == 400  # no cb at all


@pytest.mark.parametrize("callback", ["lpCb40213x7781", "$", "_cb", "A" * 64])
def test_identifiers_are_taken(server, http, callback):
    answer = call(server, http, f"/api/account/{ACCOUNT}/chat/availability?v=1&NC=true", callback=callback)
    assert answer["responseCode"] == 200 and answer["headers"] == {}
    assert isinstance(answer["body"]["availability"], bool)


def test_a_chat_through_the_tunnel_with_the_hrefs_of_another_origin(server, http):
    # §4.8: u names another origin (an http public base); only its path and query count, and the
    # answer's hrefs stay on the origin the SDK followed.
    other = "http://chat.internal:8080"
    Agent(server, http)  # online, so the chat waits for her instead of ending
    created = call(
        server,
        http,
        f"{other}/api/account/{ACCOUNT}/chat/request?v=1&NC=true",
        "POST",
        {"request": {"skill": "Sales", "userAgent": "Mozilla/5.0"}},
    )
    assert created["responseCode"] == 201 and created["body"] == ""
    location = created["headers"]["Location"]
    assert location.startswith(f"{other}/api/account/{ACCOUNT}/chat/")
    named = call(
        server,
        http,
        f"{location}/info/visitorName?v=1&NC=true",
        "POST",
        {"visitorName": "Alice"},
        {**AUTH, "X-HTTP-Method-Override": "PUT"},
        hint="/chat",
    )
    assert named["responseCode"] == 200, named
    chat = call(server, http, f"{location}?v=1&NC=true")
    assert chat["responseCode"] == 200
    assert chat["body"]["chat"]["info"]["visitorName"] == "Alice"
    assert all(link["@href"].startswith(other) for link in chat["body"]["chat"]["link"])
    ended = call(
        server, http, f"{location}/events?v=1&NC=true", "POST", {"event": {"@type": "state", "state": "ended"}}
    )
    assert ended["responseCode"] in (200, 201), ended


def test_errors_of_the_tunnelled_call_travel_inside_the_script(server, http):
    denied = call(
        server,
        http,
        f"/api/account/{ACCOUNT}/chat/availability?v=1",
        headers={"AUTHORIZATION": "LivePerson appKey=nope"},
    )
    assert denied["responseCode"] == 401 and denied["body"]["error"]["internalCode"] == 10
    missing = call(server, http, f"/api/account/{ACCOUNT}/chat/H1234?v=1&NC=true")
    assert missing["responseCode"] in (401, 404) and "error" in missing["body"]
    bad_body = call(server, http, f"/api/account/{ACCOUNT}/chat/request?v=1", "POST", "{not json")
    assert bad_body["responseCode"] == 400 and bad_body["body"]["error"]["internalCode"] == 5


@pytest.mark.parametrize(
    "payload, status, code",
    [
        ("{not json", 400, 5),
        ('["u"]', 400, 5),
        ('{"m": "GET"}', 400, 5),
        (json.dumps({"u": f"/api/account/{ACCOUNT}/js2rest?cb=x", "m": "GET", "b": "", "h": AUTH}), 400, 5),
        (json.dumps({"u": f"/api/account/{ACCOUNT}/chat/availability", "m": "TRACE", "b": "", "h": AUTH}), 400, 5),
        (
            json.dumps({"u": f"/api/account/{ACCOUNT}/chat/availability", "m": "GET", "b": "", "h": {"X\r\nY": "1"}}),
            400,
            5,
        ),
    ],
)
def test_a_payload_that_is_not_a_call_is_refused_inside_the_script(server, http, payload, status, code):
    answer = called(http.get(tunnel_url(server, payload)))
    assert answer["responseCode"] == status and answer["body"]["error"]["internalCode"] == code, answer


def _parts(server, payload: dict, size: int) -> list[str]:
    """The encoded payload cut into pieces of ``size`` characters, some inside a %XX escape."""
    encoded = quote(json.dumps(payload), safe="")
    return [encoded[i : i + size] for i in range(0, len(encoded), size)]


def _send_parts(server, http, pieces: list[str], callback="lpCb7x7") -> dict:
    token = None
    for number, piece in enumerate(pieces, 1):
        url = (
            f"{server.url}/api/account/{ACCOUNT}/js2rest/chat?lpV=1&lpjson=1&lpP={number}&lpO={len(pieces)}"
            + (f"&lpS={token}" if token else "")
            + f"&lpB={piece}&cb={callback}"
        )
        answer = called(http.get(url), callback)
        if number < len(pieces):
            assert answer["responseCode"] == 200, answer
            token = answer["lpMeta"]["lpS"]
    return answer


def test_a_long_line_arrives_in_parts_and_is_reassembled_byte_for_byte(server, http):
    agent = Agent(server, http)
    created = call(
        server, http, f"/api/account/{ACCOUNT}/chat/request?v=1&NC=true", "POST", {"request": {"skill": "Sales"}}
    )
    location = created["headers"]["Location"]
    line = "Grüße, 世界! 100% sure & more " * 180  # multi-byte characters and literal % signs
    payload = {
        "u": f"{location}/events?v=1&NC=true",
        "m": "POST",
        "b": {"event": {"@type": "line", "text": line}},
        "h": AUTH,
    }
    pieces = _parts(server, payload, 1999)
    assert len(pieces) > 5 and any(re.search(r"%[0-9A-F]?$", piece) for piece in pieces)
    assert _send_parts(server, http, pieces)["responseCode"] == 201
    events = call(server, http, f"{location}/events?v=1&NC=true")["body"]["events"]["event"]
    assert [event["text"] for event in events if event.get("text") == line] == [line]  # once, whole
    del agent


def test_parts_out_of_order_or_unknown_are_refused(server, http):
    payload = {"u": f"/api/account/{ACCOUNT}/chat/availability?v=1", "m": "GET", "b": "", "h": AUTH}
    pieces = _parts(server, payload, 40)
    first = called(
        http.get(f"{server.url}/api/account/{ACCOUNT}/js2rest?lpP=1&lpO={len(pieces)}&lpB={pieces[0]}&cb=c"), "c"
    )
    token = first["lpMeta"]["lpS"]
    skipped = called(
        http.get(
            f"{server.url}/api/account/{ACCOUNT}/js2rest?lpP=3&lpO={len(pieces)}&lpS={token}&lpB={pieces[2]}&cb=c"
        ),
        "c",
    )
    assert skipped["responseCode"] == 400
    again = called(
        http.get(
            f"{server.url}/api/account/{ACCOUNT}/js2rest?lpP=2&lpO={len(pieces)}&lpS={token}&lpB={pieces[1]}&cb=c"
        ),
        "c",
    )
    assert again["responseCode"] == 400  # a refused sequence is gone
    for query in ["lpP=2&lpO=1", "lpP=0&lpO=3", "lpP=1&lpO=257", "lpP=1&lpO=x", "lpP=-1&lpO=2"]:
        answer = called(http.get(f"{server.url}/api/account/{ACCOUNT}/js2rest?{query}&lpB=x&cb=c"), "c")
        assert answer["responseCode"] == 400 and answer["body"]["error"]["internalCode"] in (5, 11), query
    assert set(_send_parts(server, http, pieces, "c")["body"]) == {"availability"}  # whole, it works


def test_payloads_are_bounded(server, http):
    pieces = ["%20" * 700] * 130  # 273,000 encoded characters: past the bound of 262,144
    token = None
    for number, piece in enumerate(pieces, 1):
        url = (
            f"{server.url}/api/account/{ACCOUNT}/js2rest?lpP={number}&lpO={len(pieces)}"
            + (f"&lpS={token}" if token else "")
            + f"&lpB={piece}&cb=c"
        )
        answer = called(http.get(url), "c")
        if answer["responseCode"] != 200:
            break
        token = answer["lpMeta"]["lpS"]
    assert answer["responseCode"] == 413 and answer["body"]["error"]["internalCode"] == 14
    assert number == 125  # refused on the part that passes the bound, not at the end
