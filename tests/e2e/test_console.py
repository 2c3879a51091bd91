"""The agent console (/console/) in a real browser: Debian's Chromium driven by Playwright.

An agent works in the console page while the test plays the visitor (and, for transfers, a second
agent) through the HTTP APIs: login, availability, a ring with the visitor's wait and the ring
timeout, accept, lines both ways, typing both ways, private notes, HTML a visitor sends shown as
text, transfer to a skill and to an agent, end, the agent survey, canned responses, keyboard-only
use, a phone-sized window, and polling when the server does not hold requests.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from parley.services.surveys import import_survey
from tests.e2e.conftest import ACCOUNT, KEY, Server, q, query, seed, shared_server
from tests.e2e.test_agent_api import Agent
from tests.unit.domain.test_survey import PRECHAT_EXAMPLE

CHROMIUM = "/usr/bin/chromium"  # Debian's (.ci/run installs it); never a downloaded browser
# Written by these tests (never by hand); the README links them.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
RING_TIMEOUT = 60  # long enough that a slow, shared machine never lets a ring expire mid-test
WAIT = 15_000  # ms a page may take to show what the server already has (a bound, not a measurement)
AGENT_SURVEY = {
    "survey": {
        "id": 555,
        "header": "Wrap-up",
        "questions": {
            "question": [
                {
                    "id": 1,
                    "type": "Checkbox",
                    "label": "Topics",
                    "mandatory": True,
                    "entry": [{"value": "Billing"}, {"value": "Delivery"}],
                },
                {"id": 2, "type": "Text Field", "label": "Comment", "mandatory": False},
            ]
        },
    }
}
HOSTILE = '<b>x</b><img src=x onerror="window.__pwned=1">'


async def _people(admin) -> None:
    # Natalie (the demo agent, Sales) works in the console; Carol (Support only) answers transfers
    # through the API; nobody else logs in, so every Sales chat rings Natalie.
    await admin.create_agent(ACCOUNT, "carol", "carol-secret", "Carol", ["Support"], 4)
    await import_survey(admin.store, ACCOUNT, "agent", AGENT_SURVEY)
    await import_survey(admin.store, ACCOUNT, "prechat", PRECHAT_EXAMPLE)


@pytest.fixture(scope="module")
def server(tmp_path_factory, backend):  # after the backend is chosen: query() must find its database
    # Every test logs Natalie in (a console each, API sessions beside): more than the default ten
    # logins a minute per name allow; the limits themselves are tested in test_limits.py.
    yield from shared_server(
        tmp_path_factory.mktemp("console"),
        "--ring-timeout",
        str(RING_TIMEOUT),
        "--login-limit",
        "off",
        "--login-address-limit",
        "off",
        extra=_people,
    )


@pytest.fixture(scope="module")
def browser(server):
    """Started after the server (seeding runs its own event loop, Playwright's would be in the way)."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def http():
    with httpx.Client(timeout=60) as client:
        yield client


def open_console(browser, server, viewport=None):
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Script errors and CSP refusals are console errors; a 4xx the console meets on purpose (a ring
    # taken by someone else, no survey) is a failed resource load and no problem.
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.problems = problems
    return context, page


def log_in(page, server, user="natalie", password="natalie"):
    page.goto(f"{server.url}/console/?account={ACCOUNT}")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#desk")).to_be_visible(timeout=WAIT)


def log_out(page):
    """Ends the console's agent session and login (so the next test starts from nothing)."""
    if page.locator("#desk").is_visible():
        page.get_by_role("button", name="Log out").click()
        expect(page.locator("#login-view")).to_be_visible(timeout=WAIT)


def eventually(check, timeout=15.0):
    """``check()`` until it returns something true; the last answer is returned for the assert."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


class Visitor:
    """The visitor's side, through the Server Chat API."""

    def __init__(self, server, http, **request) -> None:
        self.http = http
        created = http.post(f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": request})
        assert created.status_code == 201, created.text
        self.chat = created.headers["location"]

    def send(self, text: str, text_type: str = "plain") -> None:
        answer = self.http.post(
            f"{self.chat}/events.json?{q()}", json={"event": {"@type": "line", "text": text, "textType": text_type}}
        )
        assert answer.status_code == 201, answer.text

    def put(self, path: str, body: dict) -> None:
        answer = self.http.post(f"{self.chat}{path}.json?{q()}", json=body, headers={"X-HTTP-Method-Override": "PUT"})
        assert answer.status_code == 200, answer.text

    def events(self) -> list[dict]:
        body = self.http.get(f"{self.chat}/events.json?{q('from=0')}").json()["events"]
        found = body.get("event", [])
        return found if isinstance(found, list) else [found]

    def texts(self) -> list[str]:
        return [e.get("text") for e in self.events() if e["@type"] == "line"]

    def state(self) -> str:
        return self.http.get(f"{self.chat}/info.json?{q()}").json()["info"]["state"]

    def agent_typing(self) -> str:
        return self.http.get(f"{self.chat}/info.json?{q()}").json()["info"]["agentTyping"]


def accept_ring(page, skill="Sales"):
    ring = page.locator("#ring")
    expect(ring).to_be_visible(timeout=WAIT)
    expect(page.locator("#ring-details")).to_contain_text(f"Skill: {skill}", timeout=WAIT)
    before = page.locator("article.chat").count()
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("article.chat")).to_have_count(before + 1, timeout=WAIT)
    return page.locator("article.chat").nth(before)


def send_from_console(panel, text: str, private=False):
    if private:
        panel.get_by_label("Private note (agents only)").check()
    panel.get_by_label("Message").fill(text)
    panel.get_by_role("button", name="Send").click()
    expect(panel.locator(".log")).to_contain_text(text, timeout=WAIT)


def test_a_whole_chat_in_the_console(server, browser, http):
    context, page = open_console(browser, server)
    try:
        log_in(page, server)
        expect(page.locator("#agent-name")).to_have_text("Natalie")
        natalie = Agent(server, http)  # a second session of the same user, to read what the console set
        page.get_by_label("Availability").select_option("Away")
        expect(page.locator("#status")).to_contain_text("You are Away", timeout=WAIT)
        assert natalie.get("/availability").json()["availability"]["chat"] == "Away"
        page.get_by_label("Availability").select_option("Online")
        expect(page.locator("#status")).to_contain_text("You are Online", timeout=WAIT)
        assert natalie.get("/availability").json()["availability"]["chat"] == "Online"

        visitor = Visitor(
            server,
            http,
            skill="Sales",
            survey={"id": 40216, "question": [{"id": 12786273, "answer": "CATS"}, {"id": 16314710, "answer": "Alice"}]},
        )
        visitor.put("/info/visitorName", {"visitorName": "Alice"})
        # The ring: skill, the visitor's wait so far, and the ring timeout counting down.
        expect(page.locator("#ring")).to_be_visible(timeout=WAIT)
        details = page.locator("#ring-details")
        expect(details).to_contain_text("Skill: Sales", timeout=WAIT)
        expect(details).to_contain_text("visitor waiting", timeout=WAIT)
        expect(details).to_contain_text(f"of {RING_TIMEOUT} s", timeout=WAIT)
        assert page.evaluate("window.parleyConsole.alerts") == 1  # announced once (a chime, a notification if allowed)
        panel = accept_ring(page)
        expect(page.locator("#ring")).to_be_hidden(timeout=WAIT)
        assert eventually(lambda: visitor.state() == "chatting")

        # The visitor's name, skill, wait and pre-chat answers.
        expect(panel.locator("h2")).to_have_text("Alice", timeout=WAIT)
        expect(panel.locator(".skill")).to_have_text("Sales")
        expect(panel.locator(".waited")).to_contain_text(" s")
        expect(panel.locator(".prechat")).to_contain_text("Which team do you need?", timeout=WAIT)
        expect(panel.locator(".prechat")).to_contain_text("CATS")

        # Lines both ways.
        visitor.send("Hello, I need help with my order")
        expect(panel.locator(".log .from-visitor")).to_contain_text("Hello, I need help with my order", timeout=WAIT)
        send_from_console(panel, "Hi Alice, happy to help!")
        assert "Hi Alice, happy to help!" in visitor.texts()

        # Typing both ways.
        panel.get_by_label("Message").press_sequentially("Let me check")
        assert eventually(lambda: visitor.agent_typing() == "typing")
        visitor.put("/info/visitorTyping", {"visitorTyping": "typing"})
        expect(panel.locator(".typing")).to_contain_text("Alice is typing", timeout=WAIT)
        visitor.put("/info/visitorTyping", {"visitorTyping": "not-typing"})
        expect(panel.locator(".typing")).to_have_text("", timeout=WAIT)
        panel.get_by_label("Message").fill("")

        # A private note: agents only.
        send_from_console(panel, "VIP customer, be nice", private=True)
        note = panel.locator(".log .private", has_text="VIP customer")
        expect(note).to_contain_text("agents only")
        assert "VIP customer, be nice" not in json.dumps(visitor.events())

        # HTML a visitor sends is text: shown literally, nothing runs, no element is made of it.
        visitor.send(HOSTILE)
        visitor.send("<i>html line</i><script>window.__pwned=2</script>", "html")
        hostile = panel.locator(".log .from-visitor").filter(has_text="onerror")
        expect(hostile).to_have_count(1, timeout=WAIT)
        assert hostile.locator(".text").inner_text() == HOSTILE
        expect(panel.locator(".log .from-visitor").last).to_contain_text("html line", timeout=WAIT)
        assert panel.locator(".log img, .log b, .log i, .log script").count() == 0
        assert page.evaluate("window.__pwned") is None
        # A name is text too.
        visitor.put("/info/visitorName", {"visitorName": '<img src=x onerror="window.__pwned=4">Eve'})
        expect(panel.locator("h2")).to_have_text('<img src=x onerror="window.__pwned=4">Eve', timeout=WAIT)
        assert page.locator("img").count() == 0 and page.evaluate("window.__pwned") is None
        visitor.put("/info/visitorName", {"visitorName": "Alice"})
        # An html line of an agent (here Natalie's other session, through the API) is shown as the
        # safe markup the server kept: formatting and links, never images or handlers.
        key = panel.get_attribute("data-key")
        rich = natalie.post(
            f"{natalie.session}/chat/{key}/events",
            {
                "event": {
                    "@type": "line",
                    "textType": "html",
                    "text": '<b>Bold</b> <a href="https://example.com/help">help</a>'
                    '<img src=x onerror="window.__pwned=3">',
                }
            },
        )
        assert rich.status_code == 201, rich.text
        agent_html = panel.locator(".log .from-agent").last
        expect(agent_html.locator("b")).to_have_text("Bold", timeout=WAIT)
        assert agent_html.locator("a").get_attribute("href") == "https://example.com/help"
        assert agent_html.locator("a").get_attribute("target") == "_blank"
        assert panel.locator(".log img").count() == 0 and page.evaluate("window.__pwned") is None

        expect(page.locator("#transport")).to_have_text("live (long-poll)", timeout=WAIT)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console.png"), full_page=True)

        # End, then the agent survey.
        panel.get_by_role("button", name="End chat").click()
        assert eventually(lambda: visitor.state() == "ended")
        survey = panel.locator(".survey")
        expect(survey).to_contain_text("Wrap-up", timeout=WAIT)
        survey.get_by_label("Delivery").check()
        survey.get_by_label("Comment").fill("parcel late")
        survey.get_by_role("button", name="Submit survey").click()
        expect(survey).to_contain_text("Survey saved.", timeout=WAIT)
        answers = query(server.database, "SELECT answers FROM survey_submissions WHERE kind = 'agent'")
        assert [[a["answer"] for a in json.loads(row[0])] for row in answers] == [[["Delivery"], ["parcel late"]]]
        panel.get_by_role("button", name="Close").click()
        expect(page.locator("article.chat")).to_have_count(0)
        assert page.problems == []
    finally:
        log_out(page)
        context.close()


def test_transfer_to_a_skill_and_to_an_agent(server, browser, http):
    carol = Agent(server, http, "carol", "carol-secret")  # Online through the API, skill Support only
    context, page = open_console(browser, server)
    try:
        log_in(page, server)
        first = Visitor(server, http, skill="Sales")
        panel = accept_ring(page)
        panel.get_by_label("Transfer to").focus()  # the targets load when the list gets focus
        expect(panel.get_by_label("Transfer to").locator("option", has_text="Support")).to_have_count(1, timeout=WAIT)
        panel.get_by_label("Transfer to").select_option(label="Support (1 online)")
        panel.get_by_label("Note for the next agent").fill("Wants a refund")
        panel.get_by_role("button", name="Transfer").click()
        expect(panel.locator(".notice")).to_contain_text("Transferred to Support", timeout=WAIT)
        rang = eventually(lambda: carol.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "1")
        assert rang
        taken = carol.post(f"{carol.session}/incomingRequests", {})
        assert taken.status_code == 201
        held = http.get(taken.json()["chatLocation"]["link"]["@href"] + ".json", headers=carol.auth).json()["chat"]
        notes = [e for e in held["events"]["event"] if e.get("subType") == "ONLY_TO_REP"]
        assert [n["text"] for n in notes] == ["Wants a refund"]
        assert "Wants a refund" not in json.dumps(first.events())
        assert first.state() == "chatting" and held["info"]["agentName"] == "Carol"
        panel.get_by_role("button", name="Close").click()

        second = Visitor(server, http, skill="Sales")
        panel = accept_ring(page)
        panel.get_by_label("Transfer to").focus()
        expect(panel.get_by_label("Transfer to").locator("option", has_text="Carol")).to_have_count(1, timeout=WAIT)
        panel.get_by_label("Transfer to").select_option(label="Carol")
        panel.get_by_role("button", name="Transfer").click()
        expect(panel.locator(".notice")).to_contain_text("Transferred to Carol", timeout=WAIT)
        assert eventually(lambda: carol.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "1")
        assert second.state() == "waiting"
        assert page.problems == []
        for visitor in (first, second):
            http.post(f"{visitor.chat}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    finally:
        log_out(page)
        context.close()


def test_two_chats_side_by_side_each_with_its_own_lines(server, browser, http):
    context, page = open_console(browser, server)
    try:
        log_in(page, server)
        first = Visitor(server, http, skill="Sales")
        first.put("/info/visitorName", {"visitorName": "First"})
        one = accept_ring(page)
        second = Visitor(server, http, skill="Sales")
        second.put("/info/visitorName", {"visitorName": "Second"})
        two = accept_ring(page)
        expect(one.locator("h2")).to_have_text("First", timeout=WAIT)
        expect(two.locator("h2")).to_have_text("Second", timeout=WAIT)
        left, right = one.bounding_box(), two.bounding_box()
        assert left["y"] == right["y"] and left["x"] + left["width"] <= right["x"]  # beside, not below
        first.send("line for the first chat")
        second.send("line for the second chat")
        send_from_console(two, "answer to the second")
        expect(one.locator(".log")).to_contain_text("line for the first chat", timeout=WAIT)
        expect(two.locator(".log")).to_contain_text("line for the second chat", timeout=WAIT)
        expect(one.locator(".log")).not_to_contain_text("second")
        assert "answer to the second" in second.texts() and "answer to the second" not in first.texts()
        for panel, visitor in ((one, first), (two, second)):
            panel.get_by_role("button", name="End chat").click()
            assert eventually(lambda visitor=visitor: visitor.state() == "ended")
        assert page.problems == []
    finally:
        log_out(page)
        context.close()


def test_canned_responses_created_used_and_deleted(server, browser, http):
    context, page = open_console(browser, server)
    try:
        log_in(page, server)
        canned = page.locator("#canned")
        for title, text in [("Greeting", "Hello! How can I help you today?"), ("Bye", "Thanks for chatting with us.")]:
            canned.get_by_label("Title").fill(title)
            canned.get_by_label("Text").fill(text)
            canned.get_by_role("button", name="Add canned response").click()
            expect(canned.locator("#canned-list")).to_contain_text(title, timeout=WAIT)
        # Kept by the server, for every agent of the account.
        listed = Agent(server, http, "carol", "carol-secret").get("/cannedResponses").json()["cannedResponses"]
        assert [item["title"] for item in listed["cannedResponse"]] == ["Greeting", "Bye"]

        visitor = Visitor(server, http, skill="Sales")
        panel = accept_ring(page)
        panel.get_by_label("Canned response").select_option(label="Greeting")
        expect(panel.get_by_label("Message")).to_have_value("Hello! How can I help you today?")
        panel.get_by_role("button", name="Send").click()
        assert eventually(lambda: "Hello! How can I help you today?" in visitor.texts())

        canned.get_by_role("button", name="Delete canned response Greeting").click()
        expect(canned.locator("#canned-list li")).to_have_count(1, timeout=WAIT)
        expect(canned.locator("#canned-list")).not_to_contain_text("Greeting")
        expect(panel.get_by_label("Canned response").locator("option")).to_have_count(2)  # "Insert…" and Bye
        listed = Agent(server, http).get("/cannedResponses").json()["cannedResponses"]
        assert listed["cannedResponse"]["title"] == "Bye"  # one left: an object (collapse rule)
        panel.get_by_role("button", name="End chat").click()
        assert eventually(lambda: visitor.state() == "ended")
        assert page.problems == []
    finally:
        log_out(page)
        context.close()


def test_a_reload_keeps_the_login_and_the_chats_but_another_tab_logs_in_anew(server, browser, http):
    context, page = open_console(browser, server)
    try:
        log_in(page, server)
        visitor = Visitor(server, http, skill="Sales")
        panel = accept_ring(page)
        visitor.send("said before the reload")
        expect(panel.locator(".log")).to_contain_text("said before the reload", timeout=WAIT)
        page.reload()
        expect(page.locator("#desk")).to_be_visible(timeout=WAIT)
        panel = page.locator("article.chat")
        expect(panel).to_have_count(1, timeout=WAIT)  # back from the agent session's chatSessions
        expect(panel.locator(".log")).to_contain_text("said before the reload", timeout=WAIT)
        visitor.send("said after the reload")
        expect(panel.locator(".log")).to_contain_text("said after the reload", timeout=WAIT)
        assert page.evaluate("Object.keys(localStorage).length") == 0 and "bearer" not in page.evaluate(
            "document.cookie"
        )
        other = context.new_page()  # the bearer lives in its tab (sessionStorage), not in the browser
        other.goto(f"{server.url}/console/?account={ACCOUNT}")
        expect(other.locator("#login-view")).to_be_visible(timeout=WAIT)
        other.close()
        panel.get_by_role("button", name="End chat").click()
        assert eventually(lambda: visitor.state() == "ended")
        assert page.problems == []
    finally:
        log_out(page)
        context.close()


def test_an_agent_session_ended_elsewhere_is_replaced_and_rings_still_come(server, browser, http):
    context, page = open_console(browser, server)
    try:
        log_in(page, server)
        stored = page.evaluate("JSON.parse(sessionStorage.getItem('parley.console'))")
        closed = http.delete(stored["session"] + ".json", headers={"Authorization": f"Bearer {stored['bearer']}"})
        assert closed.status_code == 200  # as the server's idle timeout would
        expect(page.locator("#status")).to_contain_text("a new one is open", timeout=WAIT)
        renewed = page.evaluate("JSON.parse(sessionStorage.getItem('parley.console')).session")
        assert renewed != stored["session"]
        # Closing the user's last session set it Offline; the console's new session is Online again.
        visitor = Visitor(server, http, skill="Sales")
        accept_ring(page)
        visitor.send("rung on the new session")
        expect(page.locator("article.chat .log")).to_contain_text("rung on the new session", timeout=WAIT)
        page.get_by_role("button", name="End chat").click()
        assert eventually(lambda: visitor.state() == "ended")
        assert page.problems == []
    finally:
        log_out(page)
        context.close()


def test_keyboard_alone_logs_in_accepts_and_answers(server, browser, http):
    context, page = open_console(browser, server)
    try:
        page.goto(f"{server.url}/console/")
        page.wait_for_selector("body[data-ready=true]")
        expect(page.locator("#login-account")).to_be_focused()
        page.keyboard.type(ACCOUNT)
        page.keyboard.press("Tab")
        page.keyboard.type("natalie")
        page.keyboard.press("Tab")
        page.keyboard.type("natalie")
        page.keyboard.press("Enter")
        expect(page.locator("#desk")).to_be_visible(timeout=WAIT)
        expect(page.locator("#availability")).to_be_focused()

        visitor = Visitor(server, http, skill="Sales")
        expect(page.locator("#ring")).to_be_visible(timeout=WAIT)
        for _ in range(10):  # Tab from the availability list reaches Accept within a few stops
            if page.evaluate("document.activeElement.id") == "accept":
                break
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "accept"
        page.keyboard.press("Enter")
        panel = page.locator("article.chat")
        expect(panel).to_be_visible(timeout=WAIT)
        expect(panel.get_by_label("Message")).to_be_focused(timeout=WAIT)  # straight into the reply box
        page.keyboard.type("Typed without a mouse")
        page.keyboard.press("Enter")
        assert eventually(lambda: "Typed without a mouse" in visitor.texts())
        # Every control in the panel has a name a screen reader can say.
        unnamed = page.evaluate("""() => [...document.querySelectorAll('article.chat :is(input, select, textarea)')]
            .filter(e => !e.labels || e.labels.length === 0).map(e => e.outerHTML)""")
        assert unnamed == []
        visitor_end = http.post(
            f"{visitor.chat}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}}
        )
        assert visitor_end.status_code == 201
        expect(panel.locator(".notice")).to_contain_text("ended", timeout=WAIT)
        assert page.problems == []
    finally:
        log_out(page)
        context.close()


def test_a_phone_sized_window(server, browser, http):
    context, page = open_console(browser, server, viewport={"width": 390, "height": 844})
    try:
        log_in(page, server)
        visitor = Visitor(server, http, skill="Sales")
        panel = accept_ring(page)
        visitor.send("Hi from a phone-sized test " + "long-word" * 20)
        expect(panel.locator(".log")).to_contain_text("Hi from a phone-sized test", timeout=WAIT)
        send_from_console(panel, "Answer on a small screen")
        # Nothing is wider than the window: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console-phone.png"), full_page=True)
        panel.get_by_role("button", name="End chat").click()
        assert eventually(lambda: visitor.state() == "ended")
        assert page.problems == []
    finally:
        log_out(page)
        context.close()


def test_long_poll_when_offered_and_2_s_polling_when_not(server, browser, http):
    context, page = open_console(browser, server)
    try:
        log_in(page, server)
        expect(page.locator("#transport")).to_have_text("live (long-poll)", timeout=40_000)
        log_out(page)
        # A server (or a proxy) that does not hold requests: every poll answers at once.
        page.route("**/incomingRequests*", lambda route: route.continue_(url=route.request.url.replace("wait=", "w=")))
        page.route("**/events?*", lambda route: route.continue_(url=route.request.url.replace("wait=", "w=")))
        log_in(page, server)
        expect(page.locator("#transport")).to_have_text("polling every 2 s", timeout=WAIT)
        visitor = Visitor(server, http, skill="Sales")
        panel = accept_ring(page)
        visitor.send("Heard by polling")
        expect(panel.locator(".log")).to_contain_text("Heard by polling", timeout=WAIT)
        panel.get_by_role("button", name="End chat").click()
        assert eventually(lambda: visitor.state() == "ended")
        assert page.problems == []
    finally:
        log_out(page)
        context.close()


def test_the_demo_human_agent_chats_in_the_console_while_the_bot_answers_sales(browser, http, tmp_path):
    """What the README tells a newcomer: `parley serve --demo`, then the console as alex/alex."""
    demo = Server(tmp_path / "demo.db", "--demo").start()
    context, page = open_console(browser, demo)
    try:
        assert "/console/?account=12345" in demo.log.read_text() and "alex/alex" in demo.log.read_text()
        log_in(page, demo, "alex", "alex")
        expect(page.locator("#agent-name")).to_have_text("Alex")
        availability = f"{demo.url}/api/account/{ACCOUNT}/chat/availability.json?{q()}&skill=Sales"
        assert eventually(lambda: http.get(availability).json() == {"availability": True}, timeout=60)  # the bot is in
        sales = Visitor(demo, http, skill="Sales")  # the bot (Natalie) takes Sales
        assert eventually(lambda: sales.state() == "chatting")
        visitor = Visitor(demo, http, skill="Support")
        panel = accept_ring(page, "Support")
        visitor.send("Is a human there?")
        expect(panel.locator(".log")).to_contain_text("Is a human there?", timeout=WAIT)
        send_from_console(panel, "Yes, Alex here.")
        assert eventually(lambda: "Yes, Alex here." in visitor.texts())
        assert page.locator("#ring").is_hidden()
        assert page.problems == []
    finally:
        log_out(page)
        context.close()
        demo.stop()


def test_an_unanswered_ring_counts_down_moves_on_and_leaves_the_agent_away(browser, http, tmp_path):
    database = tmp_path / "short.db"
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread: seeding gets its own
        pool.submit(seed, database).result()
    short = Server(database, "--ring-timeout", "3").start()
    context, page = open_console(browser, short)
    try:
        log_in(page, short)
        Visitor(short, http, skill="Sales")
        expect(page.locator("#ring-details")).to_contain_text("ring times out in", timeout=WAIT)
        expect(page.locator("#ring-details")).to_contain_text("(of 3 s)")
        expect(page.locator("#ring")).to_be_hidden(timeout=WAIT)
        expect(page.get_by_label("Availability")).to_have_value("Away", timeout=WAIT)
        expect(page.locator("#status")).to_contain_text("A ring went unanswered", timeout=WAIT)
        assert page.problems == []
    finally:
        log_out(page)
        context.close()
        short.stop()


def test_the_console_pages_carry_the_strict_page_policy(server, http):
    page = http.get(f"{server.url}/console/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    script = http.get(f"{server.url}/console/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    for missing in ("/console/nothing.js", "/console/..%2Fbridge.js", "/console/%2e%2e/bridge.js"):
        answer = http.get(f"{server.url}{missing}.json")
        assert answer.status_code == 404 and answer.json()["error"]["internalCode"] == 12
    assert KEY not in page.text  # the console ships no credential
