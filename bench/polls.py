"""Idle-poll and line throughput: N open chats polled for "nothing new", and durable visitor lines
posted to N others, against a bare ASGI app on granian.

Every visitor polls its chat every ~2 s and usually finds nothing new, so this is the load that
dominates a chat server (DESIGN.md invariant 4); a line is the write every conversation is made
of. Run: python bench/polls.py [--seconds 10] [--connections 50]
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sqlite3
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
# The lines go to chats on the demo's Support skill, whose agent (alex) never logs in here: they
# wait in the queue (--no-agent-policy queue), so no bot answers a line and only the load writes.
LINE_SKILL = "Support"
LINE = '{"event":{"@type":"line","text":"hello from the polls bench"}}'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    loads.add_arguments(parser)
    parser.add_argument("--chats", type=int, default=50, help="open chats to poll (default 50)")
    return parser.parse_args(argv)


def request_chats(base: str, count: int, skill: str) -> list[str]:
    """Request ``count`` chats on ``skill``; their paths."""
    chats = []
    with httpx.Client(base_url=base, timeout=10) as http:
        for _ in range(count):
            response = http.post(
                f"/api/account/{ACCOUNT}/chat/request.json?{QUERY}",
                json={"request": {"skill": skill, "interactionTimeout": CHAT_TIMEOUT}},
            )
            response.raise_for_status()
            chats.append(httpx.URL(response.headers["location"]).path)
    return chats


def count_lines(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT count(*) FROM events WHERE type = 'line'").fetchone()[0]


def settled_count(database: Path) -> int:
    """Lines stored once the writes wrk left in flight at its stop have committed (or not)."""
    count = count_lines(database)
    while True:
        time.sleep(0.5)
        again = count_lines(database)
        if again == count:
            return count
        count = again


def open_chats(base: str, count: int) -> list[tuple[str, int]]:
    """Request ``count`` chats and wait until a bot has accepted and greeted each; (path, next from)."""
    chats = request_chats(base, count, "Sales")
    with httpx.Client(base_url=base, timeout=10) as http:
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


def measure(args: argparse.Namespace) -> tuple[list[Row], list[str], Load, Path, list[tuple[int, int, int]]]:
    """The rows (the reference first), each with its results per round; the memory lines; the load
    tool; the work folder (removed by the caller); per round the lines row's (201s, lines stored,
    socket errors). bench/all.py calls this; main() prints it."""
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-polls-"))
    load = Load(args, workdir)
    memory: list[str] = []

    # The reference runs beside parley for the whole run, so every round measures both.
    reference = loads.reference_server(workdir)
    port = free_port()
    base = f"http://{HOST}:{port}"
    database_file = workdir / "parley.db"
    database = f"sqlite:///{database_file}"
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
            "--no-agent-policy",
            "queue",
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
        line_chats = request_chats(base, args.chats, LINE_SKILL)
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
            # A visitor's line, answered 201 after its transaction committed.
            Row(
                "POST events.json line (201)",
                [f"{path}/events.json?{QUERY}" for path in line_chats],
                "",
                "",
                server,
                skip="bot",
                method="POST",
                body=LINE,
                status=201,
            ),
        ]
        lines_row = rows[-1]
        stored: list[tuple[int, int, int]] = []  # per round: (201s, lines stored, socket errors)
        for _ in range(args.rounds):  # interleaved: a slow minute of the machine hits every row alike
            for row in rows:
                lines_before = count_lines(database_file) if row is lines_row else 0
                result = load.run(row)
                if row is lines_row:
                    stored.append((result.good, settled_count(database_file) - lines_before, result.socket_errors))
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
    return rows, memory, load, workdir, stored


def main() -> int:
    args = parse_args()
    rows, memory, load, workdir, stored = measure(args)
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
    # wrk stops with up to one request in flight per connection: the server may commit those after
    # wrk closed its socket, so up to that many more lines than 201s are stored.
    slack = [s - a for a, s, _ in stored]
    mismatched = [d for d, (_, _, errors) in zip(slack, stored, strict=True) if not 0 <= d <= args.connections + errors]
    print(
        f"lines: {sum(a for a, _, _ in stored):,} answered 201, {sum(s for _, s, _ in stored):,} stored (per round,"
        f" stored beyond the 201s: {', '.join(map(str, slack))}; in flight when wrk stopped at most"
        f" {args.connections}){'  MISMATCH' if mismatched else ''}"
    )
    for line in memory:
        print(line)
    shutil.rmtree(workdir, ignore_errors=True)
    wrong = sum(r.wrong + r.socket_errors for row in rows for r in row.results)
    if wrong:
        print(f"{wrong} answers were not what the row expects: the rates above are not comparable", file=sys.stderr)
    if mismatched:
        print("stored lines do not match the 201s", file=sys.stderr)
    return 1 if wrong or mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
