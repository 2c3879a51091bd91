"""Idle-poll throughput: N open chats polled for "nothing new", against a bare ASGI app on granian.

Every visitor polls its chat every ~2 s and usually finds nothing new, so this is the load that
dominates a chat server (DESIGN.md invariant 4). Run: python bench/polls.py [--seconds 10] [--connections 50]
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import load as loads
from harness import HOST, Process, free_port, parley, print_table
from load import Load, Row, median_and_range

ACCOUNT = "12345"
KEY = "721c180b09eb463d9f3191c41762bb68"  # the demo app key `parley serve --demo` seeds
QUERY = f"v=1&NC=true&appKey={KEY}"
# The demo agent natalie takes only 4 chats; a second bot with no limit takes the rest.
HELPER_LOGIN = "benchbot"
# Long enough that no chat times out while we poll (requests may ask for up to 86400 s).
CHAT_TIMEOUT = 3600


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    loads.add_arguments(parser)
    parser.add_argument("--chats", type=int, default=50, help="open chats to poll (default 50)")
    return parser.parse_args(argv)


def open_chats(base: str, count: int) -> list[tuple[str, int]]:
    """Request ``count`` chats and wait until a bot has accepted and greeted each; (path, next from)."""
    chats = []
    with httpx.Client(base_url=base, timeout=10) as http:
        for _ in range(count):
            response = http.post(
                f"/api/account/{ACCOUNT}/chat/request.json?{QUERY}",
                json={"request": {"skill": "Sales", "interactionTimeout": CHAT_TIMEOUT}},
            )
            response.raise_for_status()
            chats.append(httpx.URL(response.headers["location"]).path)
        ready = []
        deadline = time.monotonic() + 60
        for path in chats:
            while True:
                events = http.get(f"{path}/events.json?{QUERY}").json()["events"]
                listed = events.get("event", [])
                listed = listed if isinstance(listed, list) else [listed]
                # The greeting is the bot's last write; after it the chat stays quiet.
                if any(e.get("source") == "agent" for e in listed):
                    nxt = next(link["@href"] for link in events["link"] if link["@rel"] == "next")
                    ready.append((path, int(nxt.rsplit("from=", 1)[1])))
                    break
                if time.monotonic() > deadline:
                    sys.exit(f"chat {path} was not accepted within 60 s; is the bot running?")
                time.sleep(0.2)
        nothing_new = http.get(f"{ready[0][0]}/events.json?{QUERY}&from={ready[0][1]}").json()["events"]
        assert "event" not in nothing_new, nothing_new
    return ready


def measure(args: argparse.Namespace) -> tuple[list[Row], list[str], Load, Path]:
    """The rows (the reference first), each with its results per round; the memory lines; the load
    tool; the work folder (removed by the caller). bench/all.py calls this; main() prints it."""
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-polls-"))
    load = Load(args, workdir)
    memory: list[str] = []

    # The reference runs beside parley for the whole run, so every round measures both.
    reference = loads.reference_server(workdir)
    port = free_port()
    base = f"http://{HOST}:{port}"
    database = f"sqlite:///{workdir / 'parley.db'}"
    # Every chat of the load comes from this one address: the per-address chat-request limit is off.
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
        workdir / "parley.log",
        base + "/health",
    ).start()
    helper = None
    try:
        parley(
            "agent",
            "create",
            "--database",
            database,
            "--account",
            ACCOUNT,
            "--login",
            HELPER_LOGIN,
            "--password",
            HELPER_LOGIN,
            "--skills",
            "Sales",
            "--max-chats",
            "-1",
        )
        time.sleep(1.5)  # the server picks CLI changes up within a second (--sweep-interval)
        # A bot listens on nothing: its "health" is the server's, so start() only checks it did not exit.
        helper = Process(
            [sys.executable, "-m", "parley", "bot", "--url", base, "--login", HELPER_LOGIN, "--password", HELPER_LOGIN],
            workdir / "helper-bot.log",
            base + "/health",
        ).start()
        chats = open_chats(base, args.chats)
        before = server.rss_mb(skip="bot")
        rows = [
            Row(
                "bare ASGI app (reference)",
                [f"/api/account/{ACCOUNT}/chat/c{i}/events.json?{QUERY}&from=5" for i in range(args.chats)],
                '"events"',
                "",
                reference,
            ),
            # Nothing new: the answer is the events element with its links and no event.
            Row(
                "events.json?from=next (nothing new)",
                [f"{path}/events.json?{QUERY}&from={nxt}" for path, nxt in chats],
                '"events"',
                '"event":',
                server,
                skip="bot",
            ),
            Row(
                "chat.json (full chat resource)",
                [f"{path}.json?{QUERY}" for path, _ in chats],
                '"chatSessionKey"',
                "",
                server,
                skip="bot",
            ),
        ]
        for _ in range(args.rounds):  # interleaved: a slow minute of the machine hits every row alike
            for row in rows:
                load.run(row)
        after = server.rss_mb(skip="bot")
        memory.append(
            f"parley RSS (the server process, bots excluded): before load {before:.1f} MB,"
            f" after {after:.1f} MB, {args.chats} open chats; reference RSS {reference.rss_mb():.1f} MB"
        )
    finally:
        if helper is not None:
            helper.stop()
        server.stop()
        reference.stop()
    return rows, memory, load, workdir


def main() -> int:
    args = parse_args()
    rows, memory, load, workdir = measure(args)
    reference_rates = rows[0].results
    table = []
    for row in rows:
        ratios = [r.rate / ref.rate for r, ref in zip(row.results, reference_rates, strict=True)]
        table.append(
            [
                row.name,
                median_and_range([r.rate for r in row.results], ",.0f"),
                f"{statistics.median(r.mean_ms for r in row.results):.2f}",
                f"{statistics.median(r.p99_ms for r in row.results):.2f}",
                median_and_range([r.cpu_ms for r in row.results], ".3f"),
                str(sum(r.wrong + r.socket_errors for r in row.results)),
                median_and_range(ratios, ".2f"),
            ]
        )

    print(f"command: python bench/polls.py {shlex.join(sys.argv[1:])}".rstrip())
    print(f"{load.describe()}, URLs rotated over {args.chats} chats; median (min-max) over rounds")
    print_table(["row", "requests/s", "mean ms", "p99 ms", "server CPU ms/request", "wrong", "ratio"], table)
    for line in memory:
        print(line)
    shutil.rmtree(workdir, ignore_errors=True)
    wrong = sum(r.wrong + r.socket_errors for row in rows for r in row.results)
    if wrong:
        print(
            f"{wrong} answers were not 200 with the expected body: the rates above are not comparable", file=sys.stderr
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
