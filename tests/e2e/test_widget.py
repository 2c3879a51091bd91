"""The visitor chat widget (/widget/) embedded by its one-line snippet in a page on another origin,
in Debian's Chromium driven by Playwright, against a real server; the agent answers through the
Chat Agent API.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from parley.http import widget as widget_routes
from parley.services.surveys import import_survey
from tests.e2e.conftest import ACCOUNT, KEY, Server, query, seed
from tests.e2e.test_agent_api import Agent
from tests.e2e.test_browser_transports import CHROMIUM, Quiet
from tests.mailbox import text_of
from tests.unit.domain.test_survey import PRECHAT_EXAMPLE

PUT = {"X-HTTP-Method-Override": "PUT"}
# An exit survey: one optional choice and an optional comment (server spec V22 shape).
EXIT = {
    "survey": {
        "id": 361348,
        "title": "",
        "header": "How did we do?",
        "questions": {
            "question": [
                {
                    "type": "Radio Button",
                    "id": 4991315,
                    "logicId": 1,
                    "order": 0,
                    "mandatory": True,
                    "label": "Did we solve your problem?",
                    "entry": [{"value": "yes", "displayValue": "Yes"}, {"value": "no", "displayValue": "No"}],
                },
                {
                    "type": "Text Area",
                    "id": 4991316,
                    "logicId": 2,
                    "order": 1,
                    "mandatory": False,
                    "label": "Anything else?",
                },
            ]
        },
    }
}
OFFLINE = {
    "survey": {
        "id": 361346,
        "title": "",
        "header": "Send A Message",
        "questions": {
            "question": [
                {"id": 4991310, "type": "Text Field", "label": "Your name?", "mandatory": True},
                {
                    "id": 4991311,
                    "type": "Text Field",
                    "validationType": "email",
                    "label": "Your e-mail",
                    "mandatory": True,
                },
                {"id": 4991312, "type": "Text Area", "label": "Message", "mandatory": True},
            ]
        },
    }
}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOSTILE = "<b>x</b><img src=x onerror=\"parent.postMessage('pwned','*')\"><script>alert(1)</script>"


async def _surveys(admin) -> None:
    await admin.create_agent(ACCOUNT, "bob", "bob-secret", "Bob", ["Support"], 2)
    await admin.create_skill(ACCOUNT, "Billing")  # nobody takes it: the offline form
    await import_survey(admin.store, ACCOUNT, "exit", EXIT)
    await import_survey(admin.store, ACCOUNT, "offline", OFFLINE)
    await import_survey(admin.store, ACCOUNT, "prechat", PRECHAT_EXAMPLE, skill="Support")


@pytest.fixture
def server(tmp_path, mailbox):
    database = tmp_path / "parley.db"
    seed(database, _surveys)
    mailbox.start()
    instance = Server(database, "--smtp-url", mailbox.url, "--mail-from", "chat@parley.test").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The other origin: a static server on another loopback port for the host pages."""
    folder = tmp_path_factory.mktemp("shop")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield instance
        finally:
            instance.close()


def host_page(browser, shop, server, skill: str, policy: str = "", **context):
    """A shop page on its own origin with the one-line snippet (and the CSP ``policy``, if given);
    ``problems`` collects script errors and CSP refusals from the page and the widget frame."""
    folder, origin = shop
    name = f"shop-{skill}-{server.port}{'-csp' if policy else ''}.html"
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">' if policy else ""
    (folder / name).write_text(
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Shop</title>{meta}"
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
        "<h1>A shop</h1><p>Something to sell.</p>"
        f'<script src="{server.url}/widget/embed.js" data-account="{ACCOUNT}" data-app-key="{KEY}"'
        f' data-skill="{skill}"></script></body></html>'
    )
    tab = browser.new_context(**context).new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.goto(f"{origin}/{name}")
    tab.problems = problems
    return tab


def open_widget(tab):
    tab.click("#parley-widget-launcher")
    return tab.frame_locator("#parley-widget-frame")


def accept(agent: Agent) -> str:
    """The agent takes the chat ringing for them; the agent-side chat URI."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        taken = agent.post(f"{agent.session}/incomingRequests", {})
        if taken.status_code == 201:
            return taken.json()["chatLocation"]["link"]["@href"]
        time.sleep(0.2)
    raise AssertionError(f"no ring: {taken.status_code} {taken.text}")


def agent_events(http, agent: Agent, chat: str) -> list[dict]:
    events = http.get(f"{chat}/events.json", headers=agent.auth).json()["events"].get("event", [])
    return events if isinstance(events, list) else [events]


def agent_lines(http, agent: Agent, chat: str) -> list[str]:
    return [
        e["text"]
        for e in agent_events(http, agent, chat)
        if e["@type"] == "line" and e["source"] in ("visitor", "agent")
    ]


def widget_lines(widget) -> list[str]:
    return widget.locator("#lines .line.visitor:not(.pending) .text, #lines .line.agent .text").all_text_contents()


def eventually(check, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def submissions(database, kind: str) -> list[tuple]:
    return query(
        database, "SELECT chat_id, survey_id, answers FROM survey_submissions WHERE kind = $1 ORDER BY id", kind
    )


def say(agent: Agent, chat: str, text: str, text_type: str = "plain") -> None:
    assert (
        agent.post(f"{chat}/events", {"event": {"@type": "line", "text": text, "textType": text_type}}).status_code
        == 201
    )


def test_a_page_on_another_origin_embeds_the_widget_and_chats(server, shop, browser, http, mailbox):
    agent = Agent(server, http)  # natalie, on Sales
    tab = host_page(browser, shop, server, "Sales")
    assert tab.url.split(":")[2].split("/")[0] != str(server.port)  # two origins
    launcher = tab.locator("#parley-widget-launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    widget = open_widget(tab)
    expect(launcher).to_have_attribute("aria-expanded", "true")
    widget.locator("#visitor-name").fill("Alice")
    widget.locator("#start-chat").click()
    # Waiting: the queue place, then the agent accepts and is named.
    expect(widget.locator("#queue")).to_contain_text("number 1 in line")
    chat = accept(agent)
    expect(widget.locator("#agent")).to_have_text("You are chatting with Natalie")
    assert http.get(f"{chat}/info.json", headers=agent.auth).json()["info"]["visitorName"] == "Alice"

    say(agent, chat, "Hello Alice, how can I help?")
    expect(widget.locator("#lines .line.agent .text")).to_have_text(["Hello Alice, how can I help?"])
    expect(widget.locator("#lines .line.agent .by")).to_have_text(["Natalie"])
    # Typing, both ways.
    assert (
        agent.http.post(
            f"{chat}/info/agentTyping.json", json={"agentTyping": "typing"}, headers={**agent.auth, **PUT}
        ).status_code
        == 200
    )
    expect(widget.locator("#typing")).to_have_text("Natalie is typing…")
    line = widget.locator("#line")
    line.press_sequentially("My parcel")
    eventually(
        lambda: http.get(f"{chat}/info/visitorTyping.json", headers=agent.auth).json()["visitorTyping"] == "typing"
    )
    line.press_sequentially(" is late")
    line.press("Enter")
    eventually(lambda: agent_lines(http, agent, chat) == ["Hello Alice, how can I help?", "My parcel is late"])
    expect(widget.locator("#lines .line.visitor:not(.pending) .text")).to_have_text(["My parcel is late"])
    expect(widget.locator("#lines .line.pending")).to_have_count(0)
    say(agent, chat, "Sorry! It ships today.")  # a line resets the agent's typing
    expect(widget.locator("#typing")).to_be_hidden()
    assert widget_lines(widget) == ["Hello Alice, how can I help?", "My parcel is late", "Sorry! It ships today."]
    SCREENSHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=SCREENSHOTS / "widget.png")  # the README shows it: made here, never by hand

    # End, exit survey, transcript by mail.
    widget.locator("#end").click()
    expect(widget.locator("#ended-title")).to_be_visible()
    eventually(
        lambda: any(e["@type"] == "state" and e.get("state") == "ended" for e in agent_events(http, agent, chat))
    )
    expect(widget.locator("#line-form")).to_be_hidden()
    widget.get_by_label("Yes").check()
    widget.get_by_label("Anything else?").fill("Quick answer, thanks")
    widget.locator("#send-exit").click()
    expect(widget.locator("#exit-sent")).to_be_visible()
    ((chat_id, survey_id, answers),) = submissions(server.database, "exit")
    assert survey_id == 361348
    assert [a["answer"] for a in json.loads(answers)] == [["yes"], ["Quick answer, thanks"]]
    widget.locator("#transcript-email").fill("alice@example.com")
    widget.locator("#send-transcript").click()
    expect(widget.locator("#transcript-sent")).to_be_visible()
    (message,) = mailbox.wait(1)
    assert mailbox.received[0][0] == ["alice@example.com"]
    body = text_of(message)
    assert "Hello Alice, how can I help?" in body and "My parcel is late" in body and "Alice" in body
    # A reload shows the ended chat as it was, and holds nothing open for it.
    streams: list[str] = []
    tab.on(
        "request",
        lambda request: (
            streams.append(request.url) if "text/event-stream" in (request.headers.get("accept") or "") else None
        ),
    )
    tab.reload()
    widget = tab.frame_locator("#parley-widget-frame")
    expect(widget.locator("#ended-title")).to_be_visible()
    expect(widget.locator("#lines .line.visitor .text")).to_have_text(["My parcel is late"])
    tab.wait_for_timeout(3000)  # a stream reopened for an ended chat would show here (retry: 2 s)
    assert streams == []
    widget.locator("#restart").click()  # a new chat starts from the start form, the old one forgotten
    expect(widget.locator("#start-chat")).to_be_visible()
    expect(widget.locator("#lines .line")).to_have_count(0)
    assert tab.problems == []


def test_a_page_reload_continues_the_chat(server, shop, browser, http):
    agent = Agent(server, http)
    tab = host_page(browser, shop, server, "Sales")
    widget = open_widget(tab)
    widget.locator("#start-chat").click()
    chat = accept(agent)
    say(agent, chat, "before the reload")
    expect(widget.locator("#lines .line.agent .text")).to_have_text(["before the reload"])
    tab.reload()
    widget = tab.frame_locator("#parley-widget-frame")
    expect(tab.locator("#parley-widget-frame")).to_be_visible()  # reopened by itself: a chat is on
    expect(widget.locator("#lines .line.agent .text")).to_have_text(["before the reload"])
    widget.locator("#line").fill("after the reload")
    widget.locator("#send").click()
    eventually(lambda: agent_lines(http, agent, chat) == ["before the reload", "after the reload"])
    assert tab.problems == []


def test_network_cut_mid_chat_loses_and_doubles_no_line(server, shop, browser, http):
    agent = Agent(server, http)
    tab = host_page(browser, shop, server, "Sales")
    widget = open_widget(tab)
    widget.locator("#start-chat").click()
    chat = accept(agent)
    say(agent, chat, "a0")
    widget.locator("#line").fill("v0")
    widget.locator("#line").press("Enter")
    eventually(lambda: widget_lines(widget) == ["a0", "v0"])
    inner = tab.frame(url=lambda url: "/widget" in url)
    assert inner.evaluate("document.documentElement.dataset.transport") == "stream"  # the push extension

    tab.context.set_offline(True)
    inner.wait_for_function("!navigator.onLine")  # the widget has heard of the cut
    widget.locator("#line").fill("v1")
    widget.locator("#line").press("Enter")
    say(agent, chat, "a1")
    widget.locator("#line").fill("v2")
    widget.locator("#line").press("Enter")
    say(agent, chat, "a2")
    expect(widget.locator("#status")).to_contain_text("Connection lost")
    expect(widget.locator("#lines .line.pending")).to_have_count(2)
    assert widget_lines(widget) == ["a0", "v0"]  # the stream was dropped with the network
    tab.context.set_offline(False)
    widget.locator("#line").fill("v3")
    widget.locator("#line").press("Enter")
    say(agent, chat, "a3")

    expected = {"a0", "v0", "a1", "v1", "a2", "v2", "a3", "v3"}
    eventually(lambda: set(widget_lines(widget)) == expected, 30)
    expect(widget.locator("#lines .line.pending")).to_have_count(0)
    expect(widget.locator("#status")).to_have_text("")
    seen_by_visitor = widget_lines(widget)
    seen_by_agent = agent_lines(http, agent, chat)
    assert sorted(seen_by_agent) == sorted(expected)  # each line once on the agent's side
    assert seen_by_visitor == seen_by_agent  # once each, in the same (event) order on both sides
    visitor_order = [text for text in seen_by_agent if text.startswith("v")]
    assert visitor_order == ["v0", "v1", "v2", "v3"]
    assert [text for text in seen_by_agent if text.startswith("a")] == ["a0", "a1", "a2", "a3"]
    # And after a reload the history is the same, still once each.
    tab.reload()
    widget = tab.frame_locator("#parley-widget-frame")
    eventually(lambda: widget_lines(widget) == seen_by_agent)
    assert tab.problems == []


def test_nobody_online_gets_the_offline_form(server, shop, browser, http):
    tab = host_page(browser, shop, server, "Billing")
    widget = open_widget(tab)
    expect(widget.locator("#offline-title")).to_be_visible()
    expect(widget.locator("#start")).to_be_hidden()
    widget.locator("#send-offline").click()  # mandatory answers missing: said, nothing sent
    expect(widget.locator("#problem")).to_contain_text("Please answer: Your name?")
    widget.get_by_label("Your name?").fill("Carl")
    widget.get_by_label("Your e-mail").fill("carl@example.com")
    widget.get_by_label("Message (required)").fill("Please call me back.")
    widget.locator("#send-offline").click()
    expect(widget.locator("#offline-sent")).to_be_visible()
    ((_, survey_id, answers),) = submissions(server.database, "offline")
    assert survey_id == 361346
    assert [a["answer"] for a in json.loads(answers)] == [["Carl"], ["carl@example.com"], ["Please call me back."]]
    assert tab.problems == []


def test_the_pre_chat_survey_when_the_skill_has_one(server, shop, browser, http):
    bob = Agent(server, http, "bob", "bob-secret")  # on Support, whose pre-chat survey is the spec's
    tab = host_page(browser, shop, server, "Support")
    widget = open_widget(tab)
    name = widget.get_by_label("Your name? (required)")
    expect(name).to_be_hidden()  # shown only when CATS is chosen (show logic)
    widget.get_by_label("Which team do you need? (required)").select_option("CATS")
    expect(name).to_be_visible()
    name.fill("Dana")
    widget.locator("#start-chat").click()
    chat = accept(bob)
    visit_href = http.get(f"{chat}.json", headers=bob.auth).json()["chat"]["link"][5]["@href"]
    visit = http.get(f"{visit_href}.json", headers=bob.auth).json()["visit"]
    answers = {item["id"]: item["answer"] for item in visit["preChatSurvey"]["survey"]["question"]}
    assert answers == {12786273: "CATS", 16314710: "Dana"}
    expect(widget.locator("#agent")).to_have_text("You are chatting with Bob")
    assert tab.problems == []


def test_html_in_lines_is_shown_as_text_and_nothing_runs(server, shop, browser, http):
    agent = Agent(server, http)
    tab = host_page(browser, shop, server, "Sales")
    messages: list = []
    tab.expose_function("note", lambda data: messages.append(data))
    tab.evaluate("addEventListener('message', e => { if (e.data === 'pwned') note(e.data) })")
    widget = open_widget(tab)
    widget.locator("#start-chat").click()
    chat = accept(agent)
    widget.locator("#line").fill(HOSTILE)
    widget.locator("#line").press("Enter")
    say(agent, chat, HOSTILE)  # plain: shown as typed
    say(agent, chat, "<b>bold</b> and <i>safe</i><img src=x onerror=alert(1)>", "html")  # sanitized markup
    expect(widget.locator("#lines .line.agent")).to_have_count(2)
    expect(widget.locator("#lines .line.visitor:not(.pending) .text")).to_have_text([HOSTILE])
    expect(widget.locator("#lines .line.agent .text").first).to_have_text(HOSTILE)
    html_line = widget.locator("#lines .line.agent .text").nth(1)
    expect(html_line).to_have_text("bold and safe")
    expect(html_line.locator("b")).to_have_text("bold")
    assert widget.locator("#lines img, #lines script").count() == 0
    assert agent_lines(http, agent, chat)[0] == HOSTILE  # the agent got it verbatim, as plain text
    time.sleep(0.5)  # give a script that should never run a moment to report itself
    assert messages == [] and tab.problems == []


def test_phone_sized_window_and_keyboard_alone(server, shop, browser, http):
    agent = Agent(server, http)
    tab = host_page(
        browser, shop, server, "Sales", viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    tab.keyboard.press("Tab")  # the launcher is the page's only control
    expect(tab.locator("#parley-widget-launcher")).to_be_focused()
    tab.keyboard.press("Enter")
    frame = tab.locator("#parley-widget-frame")
    expect(frame).to_be_visible()
    box = frame.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)  # the whole screen
    expect(tab.locator("#parley-widget-launcher")).to_be_hidden()  # it would cover the widget
    widget = tab.frame_locator("#parley-widget-frame")
    expect(widget.locator("#visitor-name")).to_be_focused()  # focus moved into the widget
    tab.keyboard.type("Erin")
    tab.keyboard.press("Tab")
    expect(widget.locator("#start-chat")).to_be_focused()
    tab.keyboard.press("Enter")
    expect(widget.locator("#line")).to_be_focused()
    chat = accept(agent)
    tab.keyboard.type("typed, never clicked")
    tab.keyboard.press("Enter")
    eventually(lambda: agent_lines(http, agent, chat) == ["typed, never clicked"])
    say(agent, chat, "Got it")
    expect(widget.locator("#lines .line.agent .text")).to_have_text(["Got it"])
    expect(widget.locator("#agent")).to_have_text("You are chatting with Natalie")
    expect(widget.locator("#queue")).to_be_hidden()
    SCREENSHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=SCREENSHOTS / "widget-phone.png")
    # Nothing wider than the phone: no sideways scrolling inside the widget.
    inner = tab.frame(url=lambda url: "/widget" in url)
    assert inner.evaluate("document.documentElement.scrollWidth") <= 375
    # The close button is reachable by keyboard and gives focus back to the page.
    widget.locator("#close").focus()
    tab.keyboard.press("Enter")
    expect(frame).to_be_hidden()
    expect(tab.locator("#parley-widget-launcher")).to_be_focused()
    assert tab.problems == []


def test_without_an_event_stream_the_widget_polls_every_2_s(server, shop, browser, http):
    """A server that does not offer event streams (here: a proxy refusing them) still chats."""
    agent = Agent(server, http)
    tab = host_page(browser, shop, server, "Sales")
    refused: list[str] = []

    def no_streams(route):
        if "text/event-stream" in (route.request.headers.get("accept") or ""):
            refused.append(route.request.url)
            route.fulfill(
                status=406,
                content_type="application/json",
                body='{"error": {"time": "", "message": "no streams here", "internalCode": 5}}',
            )
        else:
            route.continue_()

    tab.context.route("**/events*", no_streams)
    widget = open_widget(tab)
    widget.locator("#start-chat").click()
    chat = accept(agent)
    say(agent, chat, "polled to you")
    expect(widget.locator("#lines .line.agent .text")).to_have_text(["polled to you"])
    inner = tab.frame(url=lambda url: "/widget" in url)
    assert inner.evaluate("document.documentElement.dataset.transport") == "poll" and refused
    assert (
        agent.http.post(
            f"{chat}/info/agentTyping.json", json={"agentTyping": "typing"}, headers={**agent.auth, **PUT}
        ).status_code
        == 200
    )
    expect(widget.locator("#typing")).to_have_text("Natalie is typing…")
    widget.locator("#line").fill("and back")
    widget.locator("#line").press("Enter")
    eventually(lambda: agent_lines(http, agent, chat) == ["polled to you", "and back"])
    expect(widget.locator("#lines .line.visitor:not(.pending) .text")).to_have_text(["and back"])
    tab.problems[:] = [p for p in tab.problems if "EventSource" not in p]  # the refusal itself, logged
    assert tab.problems == []


def test_widget_files_and_their_headers(server, http):
    page = http.get(f"{server.url}/widget/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors *" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy and "x-frame-options" not in page.headers
    assert page.headers["referrer-policy"] == "no-referrer"  # the chat URI never leaves in a Referer
    assert http.get(f"{server.url}/widget").text == page.text
    embed = http.get(f"{server.url}/widget/embed.js")
    assert embed.status_code == 200 and embed.headers["content-type"].startswith("text/javascript")
    assert embed.headers["x-content-type-options"] == "nosniff"
    style = http.get(f"{server.url}/widget/widget.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    for name in widget_routes.ASSETS:  # every file the page may load is there
        assert http.get(f"{server.url}/widget/{name}").status_code == 200, name
    for name in ("index.html", "../bridge.js", "nope.js", "%2e%2e%2fbridge.js", "widget.js.map"):
        missing = http.get(f"{server.url}/widget/{name}.json")
        assert missing.status_code == 404 and missing.json()["error"]["internalCode"] == 12, name
    assert http.post(f"{server.url}/widget/embed.js").status_code == 405


def test_a_line_whose_answer_was_lost_is_sent_again_and_appended_once(server, shop, browser, http):
    agent = Agent(server, http)
    tab = host_page(browser, shop, server, "Sales")
    keys: list[str] = []

    def lose_the_first_answer(route):
        request = route.request
        if request.method == "POST" and '"line"' in (request.post_data or ""):
            keys.append(request.headers.get("idempotency-key"))
            if len(keys) == 1:
                route.fetch()  # the server gets the line and commits it ...
                route.abort("connectionreset")  # ... and its answer never reaches the widget
                return
        route.continue_()

    tab.context.route("**/events*", lose_the_first_answer)
    widget = open_widget(tab)
    widget.locator("#start-chat").click()
    chat = accept(agent)
    widget.locator("#line").fill("only once")
    widget.locator("#line").press("Enter")
    expect(widget.locator("#lines .line.pending")).to_have_count(0)
    expect(widget.locator("#lines .line.visitor .text")).to_have_text(["only once"])
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) >= 16  # the retry, with the same key
    assert agent_lines(http, agent, chat) == ["only once"]
    tab.problems[:] = [p for p in tab.problems if "ERR_CONNECTION_RESET" not in p]
    assert tab.problems == []


def test_a_host_page_with_a_strict_policy_still_gets_the_widget(server, shop, browser, http):
    """A site that allows the chat origin for scripts and frames, and nothing inline, shows the
    launcher styled and the widget working (the embed styles through the CSSOM, never inline)."""
    agent = Agent(server, http)
    tab = host_page(
        browser,
        shop,
        server,
        "Sales",
        policy=f"default-src 'none'; script-src {server.url}; frame-src {server.url}; style-src 'none'",
    )
    launcher = tab.locator("#parley-widget-launcher")
    expect(launcher).to_have_css("position", "fixed")
    widget = open_widget(tab)
    widget.locator("#start-chat").click()
    chat = accept(agent)
    say(agent, chat, "through a strict page")
    expect(widget.locator("#lines .line.agent .text")).to_have_text(["through a strict page"])
    assert tab.problems == []  # no refusal: nothing of the embed needed inline code or style


def test_a_transfer_shows_the_wait_and_then_the_new_agent(server, shop, browser, http):
    natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")  # Sales; Support
    tab = host_page(browser, shop, server, "Sales")
    widget = open_widget(tab)
    widget.locator("#start-chat").click()
    natalie_chat = accept(natalie)
    expect(widget.locator("#agent")).to_have_text("You are chatting with Natalie")
    targets = http.get(f"{natalie_chat}/transfer.json", headers=natalie.auth).json()["transfer"]["skill"]
    support = next(t for t in (targets if isinstance(targets, list) else [targets]) if t["name"] == "Support")
    moved = natalie.post(
        f"{natalie_chat}/transfer", {"transfer": {"skill": {"id": support["id"]}, "text": "Billing case"}}
    )
    assert moved.status_code == 200
    expect(widget.locator("#lines .line.system").last).to_have_text(
        "Please wait while you are transferred to another team."
    )
    expect(widget.locator("#queue")).to_contain_text("Waiting for an agent")
    expect(widget.locator("#agent")).to_be_hidden()
    bob_chat = accept(bob)
    expect(widget.locator("#agent")).to_have_text("You are chatting with Bob")
    expect(widget.locator("#queue")).to_be_hidden()
    say(bob, bob_chat, "Bob here, about your bill")
    expect(widget.locator("#lines .line.agent .by")).to_have_text(["Bob"])
    assert "Billing case" not in widget.locator("#lines").text_content()  # the agents' note stays theirs
    assert tab.problems == []


def test_a_wrong_embed_says_so(server, browser):
    tab = browser.new_page()
    tab.goto(f"{server.url}/widget/?account={ACCOUNT}&appKey=not-a-key&skill=Sales")
    expect(tab.locator("#problem")).to_be_visible()
    expect(tab.locator("#start")).to_be_hidden()
    tab.goto(f"{server.url}/widget/")  # no account, no key
    expect(tab.locator("#problem")).to_contain_text("data-account and data-app-key")
    expect(tab.locator("#close")).to_be_hidden()  # not framed: nothing to close
