"""Both faces in one browser: a visitor in the widget and agents in the console, each a real page in
Debian's Chromium (Playwright), holding whole chats with each other through a real server. Neither
side is played through the HTTP API here: what one page does, the other page shows.

The widget is embedded by its one-line snippet in a page on another origin (as on a shop's site);
the console runs on parley's own origin. Each page has its own browser context (its own storage and
network), so cutting the visitor's network leaves the agent's console online. The page helpers are
those of test_console.py and test_widget.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from parley.services.surveys import import_survey
from tests.e2e.conftest import ACCOUNT, Server, query, shared_server
from tests.e2e.test_console import (
    SCREENSHOTS,
    WAIT,
    accept_ring,
    browser,  # noqa: F401 (the fixture: one Chromium, started after the server)
    eventually,
    log_in,
    log_out,
    open_console,
    send_from_console,
)
from tests.e2e.test_widget import (
    EXIT,
    host_page,
    open_widget,
    shop,  # noqa: F401 (the fixture: the other origin that embeds the widget)
    widget_lines,
)

README = Path(__file__).resolve().parents[2] / "README.md"
RING_TIMEOUT = 60  # no ring may expire while a slow, shared machine drives two pages
# Markup a visitor types: an image whose error handler and a script would each set a flag.
HOSTILE = ['<b>bold?</b><img src=x onerror="window.__pwned=1">', "<script>window.__pwned=2</script>"]


async def _people(admin) -> None:
    # Natalie (Sales, the demo's agent) and Carol (Support only) each work in a console of their own;
    # nobody else logs in, so a Sales chat rings Natalie and a Support chat rings Carol.
    await admin.create_agent(ACCOUNT, "carol", "carol-secret", "Carol", ["Support"], 4)
    await import_survey(admin.store, ACCOUNT, "exit", EXIT)


@pytest.fixture(scope="module")
def server(tmp_path_factory, backend):  # after the backend is chosen: query() must find its database
    # Two consoles log in for every test: more than the default login limits allow in a minute
    # (the limits are tested in test_limits.py).
    yield from shared_server(
        tmp_path_factory.mktemp("faces"),
        "--ring-timeout",
        str(RING_TIMEOUT),
        "--login-limit",
        "off",
        "--login-address-limit",
        "off",
        extra=_people,
    )


def console_lines(panel) -> list[str]:
    """The visitor's and agents' lines a console panel shows, in its order (no private notes)."""
    return panel.locator(".log .from-visitor .text, .log .from-agent:not(.private) .text").all_text_contents()


def widget_frame(tab):
    return tab.frame(url=lambda url: "/widget" in url)


def write(widget, text: str) -> None:
    widget.locator("#line").fill(text)
    widget.locator("#line").press("Enter")


def type_slowly(box, text: str) -> None:
    """Types as a person does, a key every 250 ms: each page sends "typing" on the first key and
    "not typing" 3 s after the last, and the other page reads it every 2 s, so a burst of keys
    faster than one read might come and go unseen on a busy machine."""
    box.press_sequentially(text, delay=250)


def transfer(panel, option: str, note: str = "") -> None:
    """The console's transfer form: choose ``option`` (a skill with its online count, or an agent)."""
    target = panel.get_by_label("Transfer to")
    target.focus()  # the targets load when the list gets focus
    expect(target.locator("option", has_text=option)).to_have_count(1, timeout=WAIT)
    target.select_option(label=option)
    if note:
        panel.get_by_label("Note for the next agent").fill(note)
    panel.get_by_role("button", name="Transfer").click()


def test_a_visitor_in_the_widget_and_agents_in_their_consoles_hold_a_whole_chat(server, browser, shop):
    natalie_context, natalie = open_console(browser, server)
    carol_context, carol = open_console(browser, server)
    tab = None
    try:
        log_in(natalie, server)
        log_in(carol, server, "carol", "carol-secret")
        tab = host_page(browser, shop, server, "Sales")
        widget = open_widget(tab)
        widget.locator("#visitor-name").fill("Alice")
        widget.locator("#start-chat").click()

        # The ring, in the console of the agent on the chat's skill, with the visitor's wait.
        expect(natalie.locator("#ring-details")).to_contain_text("visitor waiting", timeout=WAIT)
        expect(widget.locator("#queue")).to_be_visible(timeout=WAIT)  # the visitor waits meanwhile
        panel = accept_ring(natalie)
        expect(widget.locator("#agent")).to_have_text("You are chatting with Natalie", timeout=WAIT)
        expect(widget.locator("#queue")).to_be_hidden(timeout=WAIT)
        expect(panel.locator("h2")).to_have_text("Alice", timeout=WAIT)
        assert carol.locator("#ring").is_hidden()  # a Sales chat never rings Carol (Support)

        # Lines both ways.
        write(widget, "Hello, my parcel is late")
        expect(panel.locator(".log .from-visitor .text")).to_have_text(["Hello, my parcel is late"], timeout=WAIT)
        send_from_console(panel, "Hi Alice, let me look")
        expect(widget.locator("#lines .line.agent .text")).to_have_text(["Hi Alice, let me look"], timeout=WAIT)
        expect(widget.locator("#lines .line.agent .by")).to_have_text(["Natalie"])

        # Typing both ways: shown while it lasts, gone with the line that follows it.
        type_slowly(widget.locator("#line"), "Order 42 from the shop")
        expect(panel.locator(".typing")).to_have_text("Alice is typing…", timeout=WAIT)
        type_slowly(widget.locator("#line"), ", sent Monday")
        widget.locator("#line").press("Enter")
        expect(panel.locator(".log .from-visitor .text").last).to_have_text(
            "Order 42 from the shop, sent Monday", timeout=WAIT
        )
        expect(panel.locator(".typing")).to_have_text("", timeout=WAIT)
        type_slowly(panel.get_by_label("Message"), "Found it, I think")
        expect(widget.locator("#typing")).to_have_text("Natalie is typing…", timeout=WAIT)
        type_slowly(panel.get_by_label("Message"), ": it leaves today")
        panel.get_by_role("button", name="Send").click()
        expect(widget.locator("#lines .line.agent .text").last).to_have_text(
            "Found it, I think: it leaves today", timeout=WAIT
        )
        expect(widget.locator("#typing")).to_be_hidden(timeout=WAIT)

        # Markup the visitor types is text in the console (and in the widget): no element is made
        # of it, no handler or script runs in either page.
        for text in HOSTILE:
            write(widget, text)
        expect(panel.locator(".log .from-visitor .text")).to_have_text(
            ["Hello, my parcel is late", "Order 42 from the shop, sent Monday", *HOSTILE], timeout=WAIT
        )
        assert natalie.locator(".log img, .log b, .log script").count() == 0
        expect(widget.locator("#lines .line.visitor:not(.pending) .text")).to_have_count(4, timeout=WAIT)
        assert widget.locator("#lines img, #lines b, #lines script").count() == 0
        natalie.wait_for_timeout(500)  # a handler that should never run gets a moment to run
        assert natalie.evaluate("window.__pwned") is None
        assert widget_frame(tab).evaluate("window.__pwned") is None

        # Transfer to a skill: Carol's console rings, her panel has the chat so far and the note.
        transfer(panel, "Support (1 online)", note="Parcel 42, wants it today")
        expect(panel.locator(".notice")).to_contain_text("Transferred to Support", timeout=WAIT)
        expect(widget.locator("#lines .line.system").last).to_have_text(
            "Please wait while you are transferred to another team.", timeout=WAIT
        )
        carol_panel = accept_ring(carol, "Support")
        expect(widget.locator("#agent")).to_have_text("You are chatting with Carol", timeout=WAIT)
        expect(carol_panel.locator(".log .private")).to_contain_text("Parcel 42, wants it today", timeout=WAIT)
        so_far = [
            "Hello, my parcel is late",
            "Hi Alice, let me look",
            "Order 42 from the shop, sent Monday",
            "Found it, I think: it leaves today",
            *HOSTILE,
        ]
        expect(carol_panel.locator(".log .from-visitor .text, .log .from-agent:not(.private) .text")).to_have_text(
            so_far, timeout=WAIT
        )
        send_from_console(carol_panel, "Carol here: it is on the truck")
        write(widget, "Thanks, Carol")
        expect(carol_panel.locator(".log .from-visitor .text").last).to_have_text("Thanks, Carol", timeout=WAIT)
        everything = [*so_far, "Carol here: it is on the truck", "Thanks, Carol"]
        expect(widget.locator("#lines .line.visitor:not(.pending) .text, #lines .line.agent .text")).to_have_text(
            everything, timeout=WAIT
        )
        assert console_lines(carol_panel) == everything  # each line once, in the same order on both pages
        assert console_lines(panel) == so_far  # Natalie's panel stopped at the transfer
        assert "Parcel 42" not in widget.locator("#lines").text_content()  # the agents' note stays theirs
        expect(widget.locator("#lines .line.agent .by")).to_have_text(["Natalie", "Natalie", "Carol"])

        # Carol ends it; the widget shows the end and its exit survey, whose answers are kept.
        carol_panel.get_by_role("button", name="End chat").click()
        expect(carol_panel.locator(".notice")).to_contain_text("You ended the chat", timeout=WAIT)
        expect(widget.locator("#ended-title")).to_be_visible(timeout=WAIT)
        expect(widget.locator("#line-form")).to_be_hidden()
        widget.get_by_label("Yes").check()
        widget.get_by_label("Anything else?").fill("Carol was quick")
        widget.locator("#send-exit").click()
        expect(widget.locator("#exit-sent")).to_be_visible(timeout=WAIT)
        answers = query(server.database, "SELECT answers FROM survey_submissions WHERE kind = 'exit'")
        assert [[a["answer"] for a in json.loads(row[0])] for row in answers] == [[["yes"], ["Carol was quick"]]]
        assert widget_lines(widget) == everything  # the ended chat still shows each line once
        assert natalie.problems == [] and carol.problems == [] and tab.problems == []
    finally:
        for page in (natalie, carol):
            log_out(page)
        for context in (natalie_context, carol_context, tab.context if tab else None):
            if context is not None:
                context.close()


def test_the_visitors_network_cut_mid_chat_loses_and_doubles_no_line_on_either_page(server, browser, shop):
    natalie_context, natalie = open_console(browser, server)
    carol_context, carol = open_console(browser, server)
    tab = None
    try:
        log_in(natalie, server)
        log_in(carol, server, "carol", "carol-secret")
        tab = host_page(browser, shop, server, "Sales")
        widget = open_widget(tab)
        widget.locator("#start-chat").click()
        panel = accept_ring(natalie)
        expect(widget.locator("#agent")).to_have_text("You are chatting with Natalie", timeout=WAIT)
        send_from_console(panel, "a0")
        write(widget, "v0")
        assert eventually(lambda: widget_lines(widget) == ["a0", "v0"])
        expect(panel.locator(".log .from-visitor .text")).to_have_text(["v0"], timeout=WAIT)

        # The visitor's page loses the network; both sides go on writing.
        tab.context.set_offline(True)
        widget_frame(tab).wait_for_function("!navigator.onLine")  # the widget has heard of the cut
        write(widget, "v1")
        send_from_console(panel, "a1")
        write(widget, "v2")
        send_from_console(panel, "a2")
        expect(widget.locator("#status")).to_contain_text("Connection lost", timeout=WAIT)
        expect(widget.locator("#lines .line.pending")).to_have_count(2)  # kept, shown as sending
        assert widget_lines(widget) == ["a0", "v0"]  # nothing reached the visitor's page
        assert console_lines(panel) == ["a0", "v0", "a1", "a2"]  # nor the agent's, from the visitor

        # Back online: what waited is sent once and what was missed arrives once, on both pages.
        tab.context.set_offline(False)
        write(widget, "v3")
        send_from_console(panel, "a3")
        expected = {"a0", "v0", "a1", "v1", "a2", "v2", "a3", "v3"}
        assert eventually(lambda: set(widget_lines(widget)) == expected, 30), widget_lines(widget)
        assert eventually(lambda: set(console_lines(panel)) == expected, 30), console_lines(panel)
        expect(widget.locator("#lines .line.pending")).to_have_count(0)
        expect(widget.locator("#status")).to_have_text("", timeout=WAIT)
        seen = console_lines(panel)
        assert len(seen) == len(expected)  # each once
        assert widget_lines(widget) == seen  # and in the same order on both pages
        assert [text for text in seen if text.startswith("v")] == ["v0", "v1", "v2", "v3"]
        assert [text for text in seen if text.startswith("a")] == ["a0", "a1", "a2", "a3"]

        # Transfer to an agent by name: her console rings and shows the same history, once.
        transfer(panel, "Carol")
        expect(panel.locator(".notice")).to_contain_text("Transferred to Carol", timeout=WAIT)
        carol_panel = accept_ring(carol)  # the chat keeps its skill (Sales), whoever takes it
        expect(widget.locator("#agent")).to_have_text("You are chatting with Carol", timeout=WAIT)
        expect(carol_panel.locator(".log .from-visitor .text, .log .from-agent:not(.private) .text")).to_have_text(
            seen, timeout=WAIT
        )
        send_from_console(carol_panel, "Carol here")
        expect(widget.locator("#lines .line.agent .text").last).to_have_text("Carol here", timeout=WAIT)

        # The visitor ends it from the widget; Carol's console says so.
        widget.locator("#end").click()
        expect(widget.locator("#ended-title")).to_be_visible(timeout=WAIT)
        expect(carol_panel.locator(".notice")).to_contain_text("The chat has ended", timeout=WAIT)
        assert widget_lines(widget) == console_lines(carol_panel) == [*seen, "Carol here"]
        assert natalie.problems == [] and carol.problems == [] and tab.problems == []
    finally:
        for page in (natalie, carol):
            log_out(page)
        for context in (natalie_context, carol_context, tab.context if tab else None):
            if context is not None:
                context.close()


def test_the_readme_chat_with_yourself_as_written(browser, tmp_path):
    """README, "Chat with yourself", step by step: the demo server, the console as alex, the widget
    on Support (too early first: the reload it advises), Start chat, Accept, lines and typing both
    ways, End chat; the screenshots it links."""
    section = README.read_text().split("## Chat with yourself", 1)[1].split("\n## ", 1)[0]
    assert "`parley serve --demo`" in section
    console_url, widget_url = re.findall(r"<(http://127\.0\.0\.1:8080/[^>]+)>", section)
    user, password = re.search(r"log in\s+as \*\*(\w+)\*\* / \*\*(\w+)\*\*", section).groups()
    for button in ("Log in", "Start chat", "Accept", "End chat"):
        assert f"**{button}**" in section, button
    for shot in ("demo-console.png", "demo-widget.png"):
        assert f"(docs/screenshots/{shot})" in section, shot
    demo = Server(tmp_path / "demo.db", "--demo").start()
    # Two windows: each its own context (a window's own storage), with script errors collected.
    console_context, console = open_console(browser, demo, viewport={"width": 1280, "height": 800})
    widget_context, widget = open_console(browser, demo, viewport={"width": 420, "height": 680})
    try:
        # The README's warning first: opened before Alex is Online, the widget says nobody is there.
        widget.goto(widget_url.replace(":8080", f":{demo.port}"))
        too_early = re.search(r'it says "([^"]+)"', section).group(1)
        expect(widget.locator("#offline-title")).to_have_text(too_early, timeout=WAIT)

        console.goto(console_url.replace(":8080", f":{demo.port}"))
        console.get_by_label("User name").fill(user)
        console.get_by_label("Password").fill(password)
        console.get_by_role("button", name="Log in").click()
        expect(console.locator("#desk")).to_be_visible(timeout=WAIT)
        expect(console.get_by_label("Availability")).to_have_value("Online")

        widget.reload()  # as the README says to, once Alex is Online
        widget.get_by_label("Your name").fill("Sam")
        widget.get_by_role("button", name="Start chat").click()
        panel = accept_ring(console, "Support")  # its Accept button
        expect(widget.locator("#agent")).to_have_text("You are chatting with Alex", timeout=WAIT)  # not the bot

        write(widget, "Hello, is anyone there?")
        expect(panel.locator(".log .from-visitor .text")).to_have_text(["Hello, is anyone there?"], timeout=WAIT)
        expect(panel.locator("h2")).to_have_text("Sam", timeout=WAIT)
        send_from_console(panel, "Hi Sam, Alex here. How can I help?")
        expect(widget.locator("#lines .line.agent .text")).to_have_text(
            ["Hi Sam, Alex here. How can I help?"], timeout=WAIT
        )
        type_slowly(widget.locator("#line"), "Just trying parley")
        expect(panel.locator(".typing")).to_have_text("Sam is typing…", timeout=WAIT)
        widget.locator("#line").press("Enter")
        expect(panel.locator(".log .from-visitor .text").last).to_have_text("Just trying parley", timeout=WAIT)
        type_slowly(panel.get_by_label("Message"), "Then it works, thanks")
        expect(widget.locator("#typing")).to_have_text("Alex is typing…", timeout=WAIT)
        expect(panel.locator(".typing")).to_have_text("", timeout=WAIT)
        # Nothing sticks out of the console's side cards at a desktop width (the skills table did).
        sticking_out = console.evaluate("""() => [...document.querySelectorAll('.side section')]
            .filter(card => card.scrollWidth > card.clientWidth).map(card => card.id)""")
        assert sticking_out == []
        # Mid-chat, both windows: written here, never by hand (the README shows them).
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        console.screenshot(path=str(SCREENSHOTS / "demo-console.png"))
        widget.screenshot(path=str(SCREENSHOTS / "demo-widget.png"))

        panel.get_by_role("button", name="Send").click()
        expect(widget.locator("#lines .line.agent .text").last).to_have_text("Then it works, thanks", timeout=WAIT)
        widget.get_by_role("button", name="End chat").click()
        expect(widget.locator("#ended-title")).to_be_visible(timeout=WAIT)
        expect(panel.locator(".notice")).to_contain_text("The chat has ended", timeout=WAIT)
        assert (
            console_lines(panel)
            == widget_lines(widget)
            == [
                "Hello, is anyone there?",
                "Hi Sam, Alex here. How can I help?",
                "Just trying parley",
                "Then it works, thanks",
            ]
        )
        assert console.problems == [] and widget.problems == []
    finally:
        log_out(console)
        console_context.close()
        widget_context.close()
        demo.stop()
