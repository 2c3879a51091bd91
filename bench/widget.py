"""The chat widget in a real browser: how soon an agent's line shows, and how many requests an idle
chat costs, with the event stream against the 2 s polling fallback (the reference row).

    python bench/widget.py [--lines 10] [--idle 20] [--rounds 2]

One ``parley serve --demo`` process, Debian's Chromium (``/usr/bin/chromium``) through Playwright.
Per round and row, the widget page opens a chat on skill Sales (the demo's skill) and a human agent
(a second agent the script adds, so the demo bot never answers) accepts it. Then ``--idle`` seconds
pass with nothing said, counting the widget's requests, and ``--lines`` agent lines are posted
through the Chat Agent API one at a time, each timed from the post to its appearance in the widget.
The polling row is the same widget with event streams refused (answered 406), which is what it
does on a server or proxy that offers none. Prints one table: line delay median and worst, the
widget's requests per idle minute, and the delay ratio to polling.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import HOST, Process, free_port, parley, print_table  # noqa: E402

from parley.services.accounts import DEMO_ACCOUNT, DEMO_APP_KEY  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
AGENT = ("benchhuman", "bench-secret")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10, help="agent lines timed per round and row")
    parser.add_argument("--idle", type=float, default=20, help="seconds of silence counted per round and row")
    parser.add_argument("--rounds", type=int, default=2)
    return parser.parse_args()


class Agent:
    def __init__(self, http: httpx.Client, base: str) -> None:
        self.http = http
        login = http.post(f"{base}/login?v=1.3", json={"username": AGENT[0], "password": AGENT[1]}).json()
        self.auth = {"Authorization": f"Bearer {login['bearer']}"}
        self.session = http.post(f"{base}/agentSession.json", json={"loginData": ""}, headers=self.auth).json()[
            "agentSessionLocation"
        ]["link"]["@href"]

    def accept(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            taken = self.http.post(f"{self.session}/incomingRequests.json", json={}, headers=self.auth)
            if taken.status_code == 201:
                return taken.json()["chatLocation"]["link"]["@href"]
            time.sleep(0.1)
        sys.exit("no ring reached the bench agent")

    def say(self, chat: str, text: str) -> None:
        if (
            self.http.post(
                f"{chat}/events.json", json={"event": {"@type": "line", "text": text}}, headers=self.auth
            ).status_code
            != 201
        ):
            sys.exit("the agent's line was refused")


def refuse_streams(route) -> None:
    if "text/event-stream" in (route.request.headers.get("accept") or ""):
        route.fulfill(status=406, content_type="application/json", body="{}")
    else:
        route.continue_()


def one_round(browser, url: str, agent: Agent, mode: str, args) -> tuple[list[float], int]:
    context = browser.new_context()
    try:
        if mode == "poll":
            context.route("**/events*", refuse_streams)
        page = context.new_page()
        page.goto(f"{url}/widget/?account={DEMO_ACCOUNT}&appKey={DEMO_APP_KEY}&skill=Support")
        page.click("#start-chat")
        chat = agent.accept()
        page.locator("#agent").filter(has_text="Bench").wait_for()
        transport = page.evaluate("document.documentElement.dataset.transport")
        if transport != mode:
            sys.exit(f"the widget uses {transport!r}, expected {mode!r}")
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.wait_for_timeout(args.idle * 1000)  # Playwright delivers the request events meanwhile
        idle = len(requests)
        delays = []
        for n in range(args.lines):
            text = f"{mode} line {n}"
            start = time.monotonic()
            agent.say(chat, text)
            page.locator("#lines .line.agent .text", has_text=text).wait_for()
            delays.append(time.monotonic() - start)
            page.wait_for_timeout(500)  # lines do not all land right after a poll
        return delays, idle
    finally:
        context.close()


def main() -> None:
    args = parse_args()
    print("command: python bench/widget.py " + " ".join(sys.argv[1:]), flush=True)
    folder = Path(tempfile.mkdtemp(prefix="parley-bench-widget-"))
    database = f"sqlite:///{folder / 'parley.db'}"
    port = free_port()
    url = f"http://{HOST}:{port}"
    # Every chat comes from this one address: the per-address chat-request limit is off.
    server = Process(
        [
            sys.executable,
            "-m",
            "parley",
            "serve",
            "--demo",
            "--host",
            HOST,
            "--port",
            str(port),
            "--database",
            database,
            "--chat-request-limit",
            "off",
        ],
        folder / "serve.log",
        f"{url}/health",
    ).start()
    try:
        parley(
            "agent",
            "create",
            "--account",
            DEMO_ACCOUNT,
            "--login",
            AGENT[0],
            "--password",
            AGENT[1],
            "--nickname",
            "Bench",
            "--skills",
            "Support",
            "--max-chats",
            "50",
            "--database",
            database,
        )
        time.sleep(1.5)  # the server picks CLI changes up within a second (--sweep-interval)
        results = {"poll": ([], []), "stream": ([], [])}
        with httpx.Client(timeout=20) as http, sync_playwright() as playwright:
            agent = Agent(http, f"{url}/api/account/{DEMO_ACCOUNT}")
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                for _ in range(args.rounds):
                    for mode in ("poll", "stream"):  # alternating: a slow minute hits both rows
                        delays, idle = one_round(browser, url, agent, mode, args)
                        results[mode][0].extend(delays)
                        results[mode][1].append(idle * 60 / args.idle)
            finally:
                browser.close()
        reference = statistics.median(results["poll"][0])
        rows = []
        for mode, label in (("poll", "2 s polling (reference)"), ("stream", "event stream")):
            delays, idle = results[mode]
            median = statistics.median(delays)
            rows.append(
                [
                    label,
                    f"{median * 1000:.0f}",
                    f"{max(delays) * 1000:.0f}",
                    f"{statistics.median(idle):.0f}",
                    f"{median / reference:.3f}",
                ]
            )
        print_table(["widget transport", "line delay median ms", "worst ms", "requests/idle min", "delay ratio"], rows)
        print(f"server memory: {server.rss_mb():.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
