"""Start time of ``parley serve`` on a store holding many ended chats, against the same server on a
store with none: the ratio says whether starting grows with history (issue 12: it should not; a
server restarted after a crash must answer at once, whatever it served last year).

    python bench/start_time.py [--chats 1000000] [--events 7] [--rounds 3]

The history is written straight into SQLite (chats that ended two days ago, past any retention,
each with ``--events`` events), the way years of traffic would leave it; then each store is started
``--rounds`` times, alternating, and the time from the process start to its first ``/health``
answer is taken. Prints one table: median and best start time per store, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import HOST, Process, free_port, print_table  # noqa: E402

from parley.services.accounts import DEMO_ACCOUNT, Admin  # noqa: E402
from parley.store import open_store  # noqa: E402

BATCH = 20_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1_000_000, help="ended chats in the large store")
    parser.add_argument("--events", type=int, default=7, help="events per ended chat")
    parser.add_argument("--rounds", type=int, default=3, help="starts of each store, alternating")
    return parser.parse_args(argv)


def seeded(path: Path) -> Path:
    async def run():
        store = open_store(f"sqlite:///{path}")
        await store.open()
        try:
            await Admin(store).seed_demo()
        finally:
            await store.close()

    asyncio.run(run())
    return path


def add_history(path: Path, chats: int, events: int) -> None:
    """Ended chats with their events, in batches; ids shaped like real ones, rt_session_ids unique."""
    ended = int(time.time() * 1000) - 2 * 86_400_000
    line = orjson.dumps({"by": "visitor", "text": "Hello, I have a question about my order"}).decode()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    base = db.execute("SELECT COALESCE(MAX(rt_session_id), 0) FROM chats").fetchone()[0] + 1
    db.execute("BEGIN")
    for start in range(0, chats, BATCH):
        rows, event_rows = [], []
        for n in range(start, min(start + BATCH, chats)):
            chat_id = f"H{1_000_000_000_000_000_000 + n}-{n:032x}K{1_000_000 + n % 9_000_000}"
            at = ended - 600_000 + n % 1000
            rows.append(
                (
                    chat_id,
                    DEMO_ACCOUNT,
                    base + n,
                    n + 1,
                    "ended",
                    None,
                    None,
                    at,
                    at + 5000,
                    ended,
                    40,
                    None,
                    "{}",
                    "{}",
                    events,
                    f"A{n:032x}",
                )
            )
            event_rows.extend((chat_id, e, "line", at + e, 0, line, None) for e in range(events))
        db.executemany(
            "INSERT INTO chats (id, account_id, rt_session_id, visitor_id, state, skill_id, agent_id, start_ms,"
            " chatting_ms, ended_ms, chat_timeout, visitor_name, details, custom_variables, next_event_id, agent_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO events (chat_id, id, type, time_ms, agents_only, fields, request_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            event_rows,
        )
    db.execute("COMMIT")
    db.close()


def start_seconds(database: Path, log: Path) -> float:
    """From the process start to its first ``/health`` answer (polled every 10 ms)."""
    port = free_port()
    server = Process(
        [
            sys.executable,
            "-m",
            "parley",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--database",
            f"sqlite:///{database}",
        ],
        log,
        f"http://{HOST}:{port}/health",
    )
    began = time.monotonic()
    server.popen = subprocess.Popen(
        server.command,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        while time.monotonic() - began < 600:
            if server.popen.poll() is not None:
                sys.exit(f"parley exited early; its log:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(server.health, timeout=1).status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                time.sleep(0.01)
        sys.exit("parley did not answer within 600 s")
    finally:
        server.stop()


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    """Start times in seconds per round: {"empty": [...], "history": [...]}."""
    with tempfile.TemporaryDirectory(prefix="parley-bench-start-") as folder:
        folder = Path(folder)
        empty, full = seeded(folder / "empty.db"), seeded(folder / "history.db")
        began = time.monotonic()
        add_history(full, args.chats, args.events)
        print(
            f"wrote {args.chats:,} ended chats with {args.chats * args.events:,} events"
            f" in {time.monotonic() - began:.0f} s ({full.stat().st_size / 2**20:,.0f} MiB)",
            flush=True,
        )
        times = {"empty": [], "history": []}
        for _ in range(args.rounds):
            times["empty"].append(start_seconds(empty, folder / "empty.log"))
            times["history"].append(start_seconds(full, folder / "history.log"))
    return times


def main() -> int:
    args = parse_args()
    times = measure(args)
    reference = statistics.median(times["empty"])
    rows = []
    for name, label in (("empty", "empty store (reference)"), ("history", f"{args.chats:,} ended chats")):
        median = statistics.median(times[name])
        rows.append([label, f"{median:.2f}", f"{min(times[name]):.2f}", f"{median / reference:.2f}"])
    print_table(["store", "median s", "best s", "ratio"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
