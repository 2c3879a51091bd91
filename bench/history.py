"""Chat history on a big store: list, filtered lists, text search and export over generated chats.

    python bench/history.py [--chats 1000000] [--runs 5] [--backend sqlite|postgres]
        [--database URL]   # reuse a store this script generated before (it is kept, not dropped)

Generation: ``--chats`` ended chats of one account (one a minute, going back ~2 years; two skills,
ten agents, 200,000 visitors), each ``state``/system-line/``state``/four lines/``state`` (five
lines, eight events), written straight into the store's tables in big transactions, so the
store's own triggers (SQLite) and index (PostgreSQL) index the text as the server would. Line
words are drawn from a Zipf-like vocabulary; ``thanks`` is in about half the chats (common),
``zanzibar`` in one chat of 100,000 (rare), ``xylograph`` in none.

Then a ``parley serve`` on that store and an admin token; each query is sent ``--runs`` times
over HTTP (median and range, milliseconds). The reference row: ``SELECT count(*) FROM chats``
(a plain scan of the chats) on the same database by the same driver. Export: the whole account
through the API (``/export``, JSON Lines and CSV) and through ``parley export``, with the peak RSS
of the server or the CLI process (sampled every 50 ms); the reference is the same rows read by
the ``sqlite3`` shell (``psql`` on PostgreSQL) into /dev/null. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import HOST, Process, free_port, print_table  # noqa: E402
from parley.services.accounts import Admin  # noqa: E402
from parley.services.admin_tokens import AdminTokens  # noqa: E402
from parley.services.engine import RT_SESSION_BASE  # noqa: E402
from parley.store import is_postgres, open_store  # noqa: E402
from tests import postgres  # noqa: E402

ACCOUNT = "bench"
START_MS = 1_700_000_000_000  # Nov 2023; one chat a minute from here
VISITORS = 200_000
COMMON, RARE, NONE = "thanks", "zanzibar", "xylograph"
BATCH = 10_000
VOCABULARY = [f"w{n}" for n in range(3000)]
WEIGHTS = [1 / (n + 1) for n in range(len(VOCABULARY))]


def chat_id(n: int) -> str:
    return f"H{1000000000000000000 + n}-{n:032x}K{1000000 + n % 9000000}"


def lines_of(rng: random.Random, n: int) -> list[str]:
    words = rng.choices(VOCABULARY, WEIGHTS, k=20)
    texts = [" ".join(words[i * 5 : i * 5 + 5]) for i in range(4)]
    if n % 2 == 0:
        texts[rng.randrange(4)] += f" {COMMON}"
    if n % 100_000 == 7:
        texts[1] += f" {RARE}"
    return texts


def rows(first: int, count: int, skills: list[int], agents: list[int]):
    """The chats, visitors and events of chats first .. first+count-1, as table rows."""
    rng = random.Random(first)
    chats, events = [], []
    for n in range(first, first + count):
        start = START_MS + n * 60_000
        chatting, ended = start + 20_000, start + 50_000
        cid, agent = chat_id(n), agents[n % len(agents)]
        chats.append(
            (cid, ACCOUNT, RT_SESSION_BASE + 1 + n, n % VISITORS, "ended", skills[n % 2], agent, start, chatting, ended)
            + (40, f"Visitor {n % VISITORS}", "{}", "[]", 8, f"K{n}", 0)
        )
        texts = lines_of(rng, n)
        system = '{"textType":"plain","text":"Thank you for choosing to chat with us.","by":"info","source":"system"}'
        chat_events = [("state", start, '{"state":"waiting"}'), ("line", start, system)]
        chat_events.append(("state", chatting, '{"state":"chatting"}'))
        for i, text in enumerate(texts):
            source, by = ("visitor", "You") if i % 2 == 0 else ("agent", "Natalie")
            fields = f'{{"textType":"plain","text":"{text}","by":"{by}","source":"{source}","subType":"REGULAR"}}'
            chat_events.append(("line", chatting + 5_000 * (i + 1), fields))
        chat_events.append(("state", ended, '{"state":"ended"}'))
        events += [(cid, i, kind, when, 0, fields) for i, (kind, when, fields) in enumerate(chat_events)]
    return chats, events


CHAT_INSERT = (
    "INSERT INTO chats (id, account_id, rt_session_id, visitor_id, state, skill_id, agent_id, start_ms, chatting_ms,"
    " ended_ms, chat_timeout, visitor_name, details, custom_variables, next_event_id, agent_key, version)"
)
EVENT_INSERT = "INSERT INTO events (chat_id, id, type, time_ms, agents_only, fields)"


async def prepare(url: str) -> tuple[list[int], list[int], str]:
    """The account, its skills and agents, and an admin token (through the store API)."""
    store = open_store(url)
    await store.open()
    try:
        admin = Admin(store)
        directory = await store.load_directory()
        if ACCOUNT not in directory.accounts:
            await admin.create_account(ACCOUNT)
            for name in ("Sales", "Support"):
                await admin.create_skill(ACCOUNT, name)
            for n in range(10):
                await admin.create_agent(ACCOUNT, f"agent{n}", "secret-password", f"Agent{n}", ["Sales", "Support"], 4)
            directory = await store.load_directory()
        skills = sorted(s.id for s in directory.skills.values() if s.account_id == ACCOUNT)
        agents = sorted(a.id for a in directory.agents.values() if a.account_id == ACCOUNT)
        _, token = await AdminTokens(store).create("bench")
        return skills, agents, token
    finally:
        await store.close()


def count_chats(url: str) -> int:
    if is_postgres(url):
        return postgres.run_sync(postgres.execute(url, "SELECT count(*) FROM chats"))[0][0]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute("SELECT count(*) FROM chats").fetchone()[0]


def generate_sqlite(path: str, have: int, total: int, skills: list[int], agents: list[int]) -> None:
    db = sqlite3.connect(path.removeprefix("sqlite:///"), isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")  # a generated store: nothing to lose
    db.execute("PRAGMA cache_size=-400000")
    for first in range(have, total, BATCH):
        chats, events = rows(first, min(BATCH, total - first), skills, agents)
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR IGNORE INTO visitors (account_id, id, created_ms) VALUES (?, ?, ?)",
            [(ACCOUNT, c[3], c[7]) for c in chats if c[2] - RT_SESSION_BASE <= VISITORS],
        )
        db.executemany(CHAT_INSERT + " VALUES (" + ", ".join("?" * 17) + ")", chats)
        db.executemany(EVENT_INSERT + " VALUES (?, ?, ?, ?, ?, ?)", events)
        db.execute("COMMIT")
        progress(first + len(chats), total)
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def generate_postgres(url: str, have: int, total: int, skills: list[int], agents: list[int]) -> None:
    import asyncpg

    async def run() -> None:
        db = await asyncpg.connect(url)
        try:
            for first in range(have, total, BATCH):
                chats, events = rows(first, min(BATCH, total - first), skills, agents)
                async with db.transaction():
                    await db.executemany(
                        "INSERT INTO visitors (account_id, id, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        [(ACCOUNT, c[3], c[7]) for c in chats if c[2] - RT_SESSION_BASE <= VISITORS],
                    )
                    columns = CHAT_INSERT.split("(", 1)[1].rstrip(")").split(", ")
                    await db.copy_records_to_table("chats", records=chats, columns=columns)
                    await db.copy_records_to_table(
                        "events", records=events, columns=["chat_id", "id", "type", "time_ms", "agents_only", "fields"]
                    )
                progress(first + len(chats), total)
            await db.execute("ANALYZE")
        finally:
            await db.close()

    asyncio.run(run())


def progress(done: int, total: int) -> None:
    if done % 100_000 == 0 or done == total:
        print(f"  generated {done:,} / {total:,} chats", file=sys.stderr, flush=True)


class PeakRss:
    """The highest RSS of a process, sampled every 50 ms on a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak, self._done = psutil.Process(pid), 0, threading.Event()

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._done.wait(0.05)

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def cell(samples: list[float]) -> str:
    return f"{statistics.median(samples):,.1f} [{min(samples):,.1f}-{max(samples):,.1f}]"


def reference_scan(url: str):
    """``SELECT count(*) FROM chats`` on one open connection (the server's are open too)."""
    if is_postgres(url):
        import asyncpg

        loop = asyncio.new_event_loop()
        connection = loop.run_until_complete(asyncpg.connect(url))
        return lambda: loop.run_until_complete(connection.fetchval("SELECT count(*) FROM chats"))
    db = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
    return lambda: db.execute("SELECT count(*) FROM chats").fetchone()


def dump_command(url: str) -> list[str]:
    """The same rows as an export (every chat's events, in order) read by the database's own shell."""
    sql = (
        "SELECT c.id, c.start_ms, e.id, e.type, e.time_ms, e.fields FROM chats c JOIN events e ON e.chat_id = c.id"
        f" WHERE c.account_id = '{ACCOUNT}' ORDER BY c.start_ms, c.id, e.id"
    )
    if is_postgres(url):
        return ["psql", "-q", "-A", "-t", "-d", url, "-c", sql]
    return ["sqlite3", url.removeprefix("sqlite:///"), sql]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--database", help="a store to fill up to --chats (and keep); default: a temporary one")
    parser.add_argument("--no-export", action="store_true", help="the queries only")
    args = parser.parse_args()
    print("$ python bench/history.py " + " ".join(sys.argv[1:]))
    folder = tempfile.mkdtemp(prefix="parley-history-")
    made_postgres = None
    url = args.database
    if url is None:
        if args.backend == "postgres":
            url = made_postgres = postgres.create_database()
        else:
            url = f"sqlite:///{folder}/history.db"
    try:
        return run(url, args, Path(folder))
    finally:
        if made_postgres:
            postgres.drop_database(made_postgres)
        shutil.rmtree(folder, ignore_errors=True)


def run(url: str, args, folder: Path) -> int:
    skills, agents, token = asyncio.run(prepare(url))
    have = count_chats(url)
    if have < args.chats:
        began = time.perf_counter()
        (generate_postgres if is_postgres(url) else generate_sqlite)(url, have, args.chats, skills, agents)
        print(f"generated {args.chats - have:,} chats in {time.perf_counter() - began:,.0f} s", file=sys.stderr)
    port = free_port()
    server = Process(
        [sys.executable, "-m", "parley", "serve", "--host", HOST, "--port", str(port), "--database", url],
        folder / "server.log",
        f"http://{HOST}:{port}/health",
    ).start(timeout=120)
    base = f"http://{HOST}:{port}/admin/v1/accounts/{ACCOUNT}"
    auth = {"Authorization": f"Bearer {token}"}
    table = []
    try:
        with httpx.Client(timeout=600, headers=auth) as http:

            def get(query: str, expect_some: bool = True):
                def call() -> None:
                    answer = http.get(f"{base}/chats?{query}")
                    answer.raise_for_status()
                    if expect_some != bool(answer.json()["chats"]):
                        sys.exit(f"unexpected answer to {query}: {answer.text[:300]}")

                return call

            scan = timed(reference_scan(url), args.runs)
            table.append(["reference: SELECT count(*) FROM chats", cell(scan), "1.00"])
            middle = START_MS + args.chats // 2 * 60_000
            visitor = (args.chats // 2) % VISITORS  # one with chats, whatever --chats
            cursor = http.get(f"{base}/chats?limit=200").json()["next"]
            queries = [
                ("newest page (50)", "", True),
                ("second page (cursor)", f"cursor={cursor}", True),
                ("state=ended & skill", f"state=ended&skill={skills[1]}", True),
                ("agent", f"agent={agents[3]}", True),
                ("visitor", f"visitor={visitor}", True),
                ("one day, mid-history", f"from={middle}&to={middle + 86_400_000}", True),
                (f"text: common ({COMMON})", f"text={COMMON}", True),
                (f"text: rare ({RARE})", f"text={RARE}", True),
                (f"text: no match ({NONE})", f"text={NONE}", False),
                ("text: common + visitor", f"text={COMMON}&visitor={visitor}", True),
            ]
            reference = statistics.median(scan)
            for name, query, some in queries:
                samples = timed(get(query, some), args.runs)
                table.append([name, cell(samples), f"{statistics.median(samples) / reference:.2f}"])
            print_table(["query (HTTP, ms)", "median [range]", "ratio to scan"], table)
            print()

            if args.no_export:
                return 0
            exports = []
            dump = dump_command(url)
            began = time.perf_counter()
            with subprocess.Popen(dump, stdout=subprocess.PIPE) as shell:
                dumped = sum(len(block) for block in iter(lambda: shell.stdout.read(1 << 20), b""))  # type: ignore[union-attr]
            if shell.returncode:
                sys.exit(f"{dump[0]} failed")
            elapsed = time.perf_counter() - began
            exports.append(
                [
                    f"reference: {dump[0]} shell, same rows",
                    f"{args.chats / elapsed:,.0f}",
                    f"{dumped / elapsed / 1e6:,.1f}",
                    f"{elapsed:,.1f}",
                    "-",
                ]
            )
            for kind in ("jsonl", "csv"):
                size = 0
                with PeakRss(server.popen.pid) as peak:
                    began = time.perf_counter()
                    with http.stream("GET", f"{base}/export?format={kind}") as answer:
                        answer.raise_for_status()
                        for chunk in answer.iter_raw():
                            size += len(chunk)
                    elapsed = time.perf_counter() - began
                exports.append(
                    [
                        f"API /export {kind} (server RSS)",
                        f"{args.chats / elapsed:,.0f}",
                        f"{size / elapsed / 1e6:,.1f}",
                        f"{elapsed:,.1f}",
                        f"{peak.peak / 2**20:,.0f}",
                    ]
                )
            output = folder / "export.jsonl"
            command = [
                sys.executable,
                "-m",
                "parley",
                "export",
                "--account",
                ACCOUNT,
                "--database",
                url,
                "--output",
                str(output),
            ]
            began = time.perf_counter()
            cli = subprocess.Popen(command, stderr=subprocess.DEVNULL)
            with PeakRss(cli.pid) as peak:
                cli.wait()
            elapsed = time.perf_counter() - began
            size = output.stat().st_size
            output.unlink()
            exports.append(
                [
                    "parley export jsonl (CLI RSS)",
                    f"{args.chats / elapsed:,.0f}",
                    f"{size / elapsed / 1e6:,.1f}",
                    f"{elapsed:,.1f}",
                    f"{peak.peak / 2**20:,.0f}",
                ]
            )
            print_table(["export of every chat", "chats/s", "MB/s", "seconds", "peak RSS MB"], exports)
            print(f"\nserver RSS after: {server.rss_mb():,.0f} MB; database: {url if is_postgres(url) else url}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PARLEY_LOG_LEVEL", "warning")
    sys.exit(main())
