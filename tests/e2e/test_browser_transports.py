"""LivePerson's JS Chat SDK transports in a real browser (spec browser-transports.md).

Debian's Chromium, driven by Playwright, opens a page served from another origin (a static server
on its own loopback port, started here). The page's script (browser/sdk_driver.js, written from
the spec: the SDK itself is not ours to ship) holds a whole visitor chat with parley through the
bridge iframe, speaking the SDK's postMessage protocol, and again through JSONP script tags,
while an agent answers through the Chat Agent API.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.conftest import ACCOUNT, KEY, shared_server
from tests.e2e.test_agent_api import Agent

CHROMIUM = "/usr/bin/chromium"  # Debian's (.ci/run installs it); never a downloaded browser
PAGES = Path(__file__).parent / "browser"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from shared_server(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def shop():
    """The other origin: a static server for browser/ on another loopback port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(PAGES)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def page(shop):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            tab = browser.new_page()
            problems: list[str] = []
            tab.on("pageerror", lambda error: problems.append(str(error)))
            # Script errors, and CSP refusals (logged as console errors); a 4xx the chat asked for
            # on purpose is logged as a failed resource load and is no problem.
            tab.on(
                "console",
                lambda message: (
                    problems.append(message.text)
                    if message.type == "error" and not message.text.startswith("Failed to load resource")
                    else None
                ),
            )
            tab.goto(f"{shop}/page.html")
            tab.problems = problems
            yield tab
        finally:
            browser.close()


def href(links: list[dict], rel: str) -> str:
    return next(item["@href"] for item in links if item["@rel"] == rel)


class Through:
    """One transport of the page: ``call`` answers ``(status, body, headers)``."""

    def __init__(self, page, kind: str, server) -> None:
        self.page, self.kind, self.server = page, kind, server

    def call(self, method: str, url: str, data=None):
        if self.kind == "bridge":
            reply = self.page.evaluate("([m, u, d, k]) => lp.bridge(m, u, d, k)", [method, url, data, KEY])
            body = json.loads(reply["body"]) if reply.get("body") else ""
            ok = 200 <= reply["responseCode"] < 300
            assert reply["responseType"] == ("completeLoad" if ok else "errorLoad"), reply
            return reply["responseCode"], body, reply.get("headers") or {}
        answer = self.page.evaluate(
            "([b, s, m, u, d, k]) => lp.jsonp(b, s, m, u, d, k)", [self.server.url, ACCOUNT, method, url, data, KEY]
        )
        return answer["responseCode"], answer["body"], answer["headers"]


def events_of(body: dict) -> list[dict]:
    events = body.get("events", {}).get("event", [])
    return events if isinstance(events, list) else [events]


def hold_a_chat(server, http, through: Through, line: str) -> None:
    """Init, availability, request, accept (agent), lines both ways, visitor name, end."""
    agent = Agent(server, http)
    status, account, _ = through.call("GET", f"{server.url}/api/account/{ACCOUNT}", {"lpNumber": ACCOUNT})
    assert status == 200
    links = account["account"]["link"]
    status, available, _ = through.call("GET", href(links, "chat-availability") + "?skill=Sales")
    assert (status, available) == (200, {"availability": True})
    status, body, headers = through.call(
        "POST", href(links, "chat-request"), {"request": {"skill": "Sales", "userAgent": "Chromium"}}
    )
    assert (status, body) == (201, "")
    location = headers["Location"]
    assert location.startswith(f"{server.url}/api/account/{ACCOUNT}/chat/")

    taken = agent.post(f"{agent.session}/incomingRequests", {})
    assert taken.status_code == 201, taken.text
    agent_chat = taken.json()["chatLocation"]["link"]["@href"]
    assert (
        agent.post(f"{agent_chat}/events", {"event": {"@type": "line", "text": "Hello, how can I help?"}}).status_code
        == 201
    )

    status, chat, _ = through.call("GET", location)
    assert status == 200
    chat_links = chat["chat"]["link"]
    status, _, _ = through.call("PUT", href(chat_links, "self") + "/info/visitorName", {"visitorName": "Alice"})
    assert status == 200
    seen = [e.get("text") for e in events_of(chat["chat"])]
    following = href(chat_links, "next")
    for _ in range(50):  # the SDK polls its next link; the agent's line is usually there already
        if "Hello, how can I help?" in seen:
            break
        status, polled, _ = through.call("GET", following)
        assert status == 200
        seen += [e.get("text") for e in events_of(polled)]
        following = href(polled["events"]["link"], "next")
        time.sleep(0.2)
    assert "Hello, how can I help?" in seen

    status, _, headers = through.call("POST", href(chat_links, "events"), {"event": {"@type": "line", "text": line}})
    assert status == 201, headers
    agent_events = events_of(http.get(f"{agent_chat}/events.json", headers=agent.auth).json())
    assert [e["text"] for e in agent_events if e.get("text") == line] == [line]  # once, whole
    info = http.get(f"{agent_chat}/info.json", headers=agent.auth).json()["info"]
    assert info["visitorName"] == "Alice"

    status, _, _ = through.call("POST", href(chat_links, "events"), {"event": {"@type": "state", "state": "ended"}})
    assert status in (200, 201)
    agent_events = events_of(http.get(f"{agent_chat}/events.json", headers=agent.auth).json())
    assert any(e.get("@type") == "state" and e.get("state") == "ended" for e in agent_events)
    # An error of the API reaches the page as one (errorLoad / responseCode), with its error body.
    status, error, _ = through.call("POST", href(chat_links, "events"), {"event": {"@type": "line", "text": "late"}})
    assert status == 403 and error["error"]["internalCode"] == 10


def test_a_page_on_another_origin_chats_through_the_bridge_iframe(server, shop, page, http):
    assert shop.rsplit(":", 1)[1] != str(server.port)  # two origins
    handshake = page.evaluate("u => lp.openBridge(u)", f"{server.url}/hcp/html/postmessage.min.html")
    assert handshake["responseType"] == "completeLoad" and "error" not in handshake
    frames = [frame.url for frame in page.frames]
    assert any(url.startswith(f"{server.url}/hcp/html/postmessage.min.html?bust=") for url in frames), frames
    hold_a_chat(server, http, Through(page, "bridge", server), "Hi! <b>bold</b> & 100% Grüße")
    # The bridge refuses to relay anywhere but its own origin.
    refused = page.evaluate("([m, u, d, k]) => lp.bridge(m, u, d, k)", ["GET", f"{shop}/page.html", None, KEY])
    assert refused["responseType"] == "errorLoad" and refused["responseCode"] == 400
    assert page.problems == []


def test_a_page_on_another_origin_chats_through_jsonp(server, shop, page, http):
    long_line = "A long line through JSONP parts: Grüße, 世界! 100% " * 60  # > 2083 characters encoded
    hold_a_chat(server, http, Through(page, "jsonp", server), long_line)
    assert page.evaluate("lp.pieces") >= 3  # the long line went in parts (§4.7), reassembled whole
    assert page.evaluate("lp.parts") >= 10
    assert page.problems == []


def test_the_bridge_answers_from_the_lpsunco_and_engagement_paths(server, page):
    for path in ["/hcp/html/lpsunco/postmessage.html", "/postmessage/postmessage.min.html"]:
        handshake = page.evaluate("u => lp.openBridge(u)", f"{server.url}{path}")
        assert handshake["responseType"] == "completeLoad", path
        reply = page.evaluate(
            "([m, u, d, k]) => lp.bridge(m, u, d, k)",
            ["GET", f"{server.url}/api/account/{ACCOUNT}/chat/availability", "", KEY],
        )
        assert reply["responseType"] == "completeLoad" and "availability" in json.loads(reply["body"]), path
