"""Scale-out: idle polls and durable lines per second on the embedded store and on PostgreSQL +
Redis with 1, 2 and 4 workers, beside a bare ASGI app on granian, in one run.

    python bench/scaleout.py [--backends sqlite,pg1,pg2,pg4] [--seconds 10] [--rounds 3]
        [--connections 50] [--chats 50] [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--redis redis://127.0.0.1:6379/0]

Every server runs for the whole script; each round loads the reference and then every backend's
two rows, so a slow minute of the shared machine hits every row alike. See bench/README.md.
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import load as loads  # noqa: E402
from harness import HOST, Process, free_port, parley, print_table  # noqa: E402
from load import Load, Row, median_and_range  # noqa: E402

from tests import postgres  # noqa: E402

ACCOUNT = "12345"
# Long enough that no chat times out while we load it (requests may ask for up to 86400 s).
CHAT_TIMEOUT = 3600
LINE = '{"event":{"@type":"line","text":"hello from the scale-out bench"}}'
BACKENDS = {"sqlite": 0, "pg1": 1, "pg2": 2, "pg4": 4}  # name -> workers (0: the embedded store, one process)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    loads.add_arguments(parser)
    parser.add_argument(
        "--backends", default="sqlite,pg1,pg2,pg4", help="comma-separated, of sqlite, pg1, pg2, pg4 (default all)"
    )
    parser.add_argument(
        "--chats", type=int, default=50, help="open chats polled, and as many others the lines go to (default 50)"
    )
    parser.add_argument(
        "--postgres",
        default=postgres.ADMIN_URL,
        help="PostgreSQL server a database is made on per backend, dropped after",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis the PostgreSQL backends share")
    args = parser.parse_args(argv)
    args.backends = args.backends.split(",")
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends {sorted(unknown)}; choose from {', '.join(BACKENDS)}")
    postgres.ADMIN_URL = args.postgres
    return args


@dataclass
class Backend:
    """One parley server (one process, or a supervisor and its workers) on its own database."""

    name: str
    workers: int
    database: str
    server: Process | None = None
    key: str = ""
    polls: Row | None = None
    lines: Row | None = None
    db_cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {"polls": [], "lines": []})
    stored: list[tuple[int, int, int]] = field(default_factory=list)  # (201s, lines stored, socket errors)

    @property
    def query(self) -> str:
        return f"v=1&NC=true&appKey={self.key}"

    def start(self, args: argparse.Namespace, workdir: Path) -> None:
        parley("migrate", "--database", self.database)
        # The app key the account is seeded with is what visitors present.
        self.key = parley("account", "create", "--database", self.database, "--id", ACCOUNT)
        port = free_port()
        base = f"http://{HOST}:{port}"
        # No agent: every chat stays open, queued, so nothing but the load writes to it. Every chat
        # comes from this one address: the per-address chat-request limit is off.
        command = [
            sys.executable,
            "-m",
            "parley",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--database",
            self.database,
            "--chat-request-limit",
            "off",
            "--no-agent-policy",
            "queue",
        ]
        if self.workers:
            command += ["--redis", args.redis, "--workers", str(self.workers)]
        print("$", shlex.join(command), flush=True)
        self.server = Process(command, workdir / f"{self.name}.log", base + "/health").start()
        if self.workers:
            wait_for_workers(base, self.workers)
        poll_chats = open_chats(base, self.query, args.chats)
        line_chats = [path for path, _ in open_chats(base, self.query, args.chats)]
        self.polls = Row(
            f"{self.name}: idle poll",
            [f"{path}/events.json?{self.query}&from={nxt}" for path, nxt in poll_chats],
            '"events"',
            '"event":',
            self.server,
        )
        self.lines = Row(
            f"{self.name}: line (201)",
            [f"{path}/events.json?{self.query}" for path in line_chats],
            "",
            "",
            self.server,
            method="POST",
            body=LINE,
            status=201,
        )

    def run(self, load: Load) -> None:
        for kind, row in (("polls", self.polls), ("lines", self.lines)):
            before_db, before_lines = self.database_cpu(), self.count_lines() if kind == "lines" else 0
            result = load.run(row)
            self.db_cpu_ms[kind].append(1000 * (self.database_cpu() - before_db) / max(result.requests, 1))
            if kind == "lines":
                self.stored.append((result.good, self.settled_count() - before_lines, result.socket_errors))

    def count_lines(self) -> int:
        sql = "SELECT count(*) FROM events WHERE type = 'line'"
        if not self.workers:
            with sqlite3.connect(urlsplit(self.database).path[1:]) as db:  # sqlite:////abs -> /abs
                return db.execute(sql).fetchone()[0]
        return postgres.run_sync(postgres.execute(self.database, sql))[0][0]

    def settled_count(self) -> int:
        """Lines stored once the writes wrk left in flight at its stop have committed (or not)."""
        count = self.count_lines()
        while True:
            time.sleep(0.5)
            again = self.count_lines()
            if again == count:
                return count
            count = again

    def database_cpu(self) -> float:
        """CPU of the PostgreSQL server processes serving this backend's database (0 for SQLite:
        its work is inside the server process, counted there)."""
        if not self.workers:
            return 0.0
        name = urlsplit(self.database).path.lstrip("/")
        total = 0.0
        for process in psutil.process_iter(["name", "cmdline"]):
            try:
                # A PostgreSQL backend's title: "postgres: <user> <database> <client> <state>".
                if name in (process.info["cmdline"] or [""])[0].split():
                    times = process.cpu_times()
                    total += times.user + times.system
            except psutil.Error:
                continue
        return total

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.workers:
            postgres.drop_database(self.database)


def wait_for_workers(base: str, count: int, timeout: float = 60) -> None:
    """Until ``count`` distinct workers have answered /ready (a new connection each time) and one leads."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with httpx.Client(timeout=5) as fresh:
                ready = fresh.get(base + "/ready.json").json()["ready"]
            seen[ready["pid"]] = ready["role"]
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        if len(seen) >= count and "leader" in seen.values():
            return
        time.sleep(0.05)
    sys.exit(f"{count} workers did not all answer within {timeout} s (seen: {seen})")


def open_chats(base: str, query: str, count: int) -> list[tuple[str, int]]:
    """Request ``count`` chats (queued: no agent) and read each one's next event id: (path, next from)."""
    chats = []
    with httpx.Client(base_url=base, timeout=10) as http:
        for _ in range(count):
            for _attempt in range(50):  # a new leader may still be starting: 503, try again
                response = http.post(
                    f"/api/account/{ACCOUNT}/chat/request.json?{query}",
                    json={"request": {"interactionTimeout": CHAT_TIMEOUT}},
                )
                if response.status_code != 503:
                    break
                time.sleep(0.2)
            response.raise_for_status()
            path = httpx.URL(response.headers["location"]).path
            events = http.get(f"{path}/events.json?{query}").json()["events"]
            nxt = next(link["@href"] for link in events["link"] if link["@rel"] == "next")
            chats.append((path, int(nxt.rsplit("from=", 1)[1])))
        nothing_new = http.get(f"{chats[0][0]}/events.json?{query}&from={chats[0][1]}").json()["events"]
        assert "event" not in nothing_new, nothing_new
    return chats


def make_backend(name: str, workdir: Path) -> Backend:
    workers = BACKENDS[name]
    database = postgres.create_database() if workers else f"sqlite:///{workdir / 'parley.db'}"
    return Backend(name, workers, database)


@dataclass
class Measured:
    """What measure() returns: the reference row and the backends with their results per round."""

    reference: Row
    backends: list[Backend]
    memory: list[str]
    log_errors: dict[str, list[str]]  # backend -> its log's error lines
    load: Load


def measure(args: argparse.Namespace) -> Measured:
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-scaleout-"))
    load = Load(args, workdir)
    reference = loads.reference_server(workdir)
    backends: list[Backend] = []
    memory: list[str] = []
    ref_row = Row(
        "bare ASGI app (reference)",
        [f"/api/account/{ACCOUNT}/chat/c{i}/events.json?v=1&from=5" for i in range(args.chats)],
        '"events"',
        "",
        reference,
    )
    try:
        for name in args.backends:
            backends.append(make_backend(name, workdir))
            backends[-1].start(args, workdir)
        for _ in range(args.rounds):  # interleaved: a slow minute of the machine hits every row alike
            load.run(ref_row)
            for backend in backends:
                backend.run(load)
        for backend in backends:
            memory.append(
                f"{backend.name}: RSS {backend.server.rss_mb():.0f} MB"
                + (f" over {backend.workers} workers and their supervisor" if backend.workers > 1 else "")
            )
    finally:
        for backend in backends:
            backend.stop()
        reference.stop()
    log_errors = {
        backend.name: [
            line
            for line in (workdir / f"{backend.name}.log").read_text().splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        for backend in backends
    }
    shutil.rmtree(workdir, ignore_errors=True)
    return Measured(ref_row, backends, memory, log_errors, load)


def mismatched_rounds(backend: Backend, connections: int) -> int:
    """Rounds whose stored lines are not the 201s plus at most the requests in flight at wrk's stop."""
    # wrk stops with up to one request in flight per connection: the server may commit those
    # after wrk closed its socket, so up to that many more lines than 201s are stored.
    return sum(1 for acked, stored, errors in backend.stored if not 0 <= stored - acked <= connections + errors)


def main() -> int:
    args = parse_args()
    measured = measure(args)
    ref_row, backends, memory, load = measured.reference, measured.backends, measured.memory, measured.load
    print(f"command: python bench/scaleout.py {shlex.join(sys.argv[1:])}".rstrip())
    print(
        f"{load.describe()}; polls rotate over {args.chats} chats, lines over {args.chats} others;"
        " median (min-max) over rounds"
    )
    refs = [r.rate for r in ref_row.results]
    one = {kind: getattr(b, kind).results for b in backends if b.name == "pg1" for kind in ("polls", "lines")}
    table = [
        [
            ref_row.name,
            median_and_range(refs, ",.0f"),
            f"{statistics.median(r.mean_ms for r in ref_row.results):.1f}",
            median_and_range([r.cpu_ms for r in ref_row.results], ".3f"),
            "-",
            f"{statistics.median(r.busiest for r in ref_row.results):.2f}",
            str(sum(r.wrong + r.socket_errors for r in ref_row.results)),
            "1.00",
            "-",
        ]
    ]
    for backend in backends:
        for kind in ("polls", "lines"):
            row = getattr(backend, kind)
            rates = [r.rate for r in row.results]
            scaling = "-"
            if backend.workers and kind in one:
                scaling = median_and_range(
                    [r.rate / o.rate for r, o in zip(row.results, one[kind], strict=True)], ".2f"
                )
            table.append(
                [
                    row.name,
                    median_and_range(rates, ",.0f"),
                    f"{statistics.median(r.mean_ms for r in row.results):.1f}",
                    median_and_range([r.cpu_ms for r in row.results], ".3f"),
                    median_and_range(backend.db_cpu_ms[kind], ".3f") if backend.workers else "-",
                    f"{statistics.median(r.busiest for r in row.results):.2f}",
                    str(sum(r.wrong + r.socket_errors for r in row.results)),
                    median_and_range([r / ref for r, ref in zip(rates, refs, strict=True)], ".2f"),
                    scaling,
                ]
            )
    print_table(
        [
            "row",
            "requests/s",
            "mean ms",
            "server CPU ms/req",
            "PostgreSQL CPU ms/req",
            "busiest process",
            "wrong",
            "ratio to reference",
            "scaling (N / pg1)",
        ],
        table,
    )
    print()
    mismatched = 0
    for backend in backends:
        acked = sum(a for a, _, _ in backend.stored)
        stored = sum(s for _, s, _ in backend.stored)
        slack = [s - a for a, s, _ in backend.stored]
        bad = mismatched_rounds(backend, args.connections)
        mismatched += bad
        print(
            f"{backend.name}: {acked:,} lines answered 201, {stored:,} stored"
            f" (per round, stored beyond the 201s: {', '.join(map(str, slack))}; in flight when wrk stopped"
            f" at most {args.connections}){'  MISMATCH' if bad else ''}"
        )
    for line in memory:
        print(line)
    for name, errors in measured.log_errors.items():
        print(f"{name} log: {len(errors)} error lines" + "".join(f"\n  {line}" for line in errors[:3]))
    wrong = sum(r.wrong + r.socket_errors for b in backends for row in (b.polls, b.lines) for r in row.results)
    wrong += sum(r.wrong + r.socket_errors for r in ref_row.results)
    if wrong or mismatched:
        print(
            f"{wrong} answers were not as expected, {mismatched} rounds stored other than their 201s:"
            " the rates above are not comparable",
            file=sys.stderr,
        )
    return 1 if wrong or mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
