"""Routing under a scripted load: agents over HTTP take the chats visitors request, then end them.

Each visitor asks for a chat and waits until an agent has accepted it before asking for the next one
(a closed loop: at most --visitors chats wait at a time, fewer than the agents' free slots, so the
delay measured is routing itself, not a queue behind busy agents). Each agent long-polls its rings,
accepts and ends the chat at once. Each round measures a reference (plain availability requests from
the same visitor connections) and then routing, for --seconds each.

The client must not be what is measured: it runs in --processes processes, each on its own skill
with its own agents and visitors (so a visitor's chat is accepted in the visitor's process), and
speaks HTTP/1.1 over raw asyncio sockets with pre-built requests. The client's and the server's CPU
are reported beside the rates, and the output says which side saturates.

Run: python bench/routing.py [--agents 20] [--visitors 40] [--processes 2] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import resource
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psutil
from connection import Connection, build, path_of
from harness import HOST, Process, free_port, parley, print_table
from load import cpu_by_process, median_and_range

ACCOUNT = "12345"
MAX_CHATS = 4  # slots per agent; --visitors stays below agents x slots so no chat waits for a slot
KINDS = ("reference", "request", "poll", "ring", "accept", "end")
VISITOR_WAIT = 20  # the visitor's long-poll for its chat's events, as the widget holds one
RINGING = re.compile(rb'"ringingCount"\s*:\s*"?(\d+)')
HREF = re.compile(rb'"@href"\s*:\s*"([^"]+)"')
# A server process at or above this share of one core is CPU-bound (its event loop holds the GIL).
SATURATED = 0.85


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20, help="agents logged in, over all processes (default 20)")
    parser.add_argument("--visitors", type=int, default=40, help="visitors requesting at once (default 40)")
    parser.add_argument("--processes", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--seconds", type=float, default=10, help="each phase of each round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of reference then routing (default 3)")
    parser.add_argument("--wait", type=int, default=5, help="agents' long-poll hold, wait=S (default 5)")
    args = parser.parse_args(argv)
    if args.agents < args.processes or args.visitors < args.processes:
        parser.error("--agents and --visitors must be at least --processes (each process has its own)")
    if args.visitors > args.agents * MAX_CHATS:
        parser.error(f"--visitors must be at most agents x {MAX_CHATS} = {args.agents * MAX_CHATS}")
    return args


@dataclass
class Phase:
    """What one client process saw in one phase: latencies per kind, wrong answers, its own CPU."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    delays: list[float] = field(default_factory=list)  # visitor's request -> the visitor sees "chatting"
    wrong: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unaccepted: int = 0  # chats requested and never accepted
    races: int = 0  # accepts answered 404: the ring went away between count and accept (not wrong)
    elapsed: float = 0.0
    cpu: float = 0.0  # this client process's user + system CPU seconds

    def merge(self, other: Phase) -> None:
        for kind in KINDS:
            self.latencies[kind] += other.latencies[kind]
            self.wrong[kind] += other.wrong[kind]
        self.delays += other.delays
        self.unaccepted += other.unaccepted
        self.races += other.races
        self.elapsed = max(self.elapsed, other.elapsed)
        self.cpu += other.cpu


class Client:
    """One client process's agents and visitors, all on this process's own skill."""

    def __init__(self, port: int, key: str, skill: str, agents: list[str], visitors: int, wait: int) -> None:
        self.port, self.wait = port, wait
        account = f"/api/account/{ACCOUNT}"
        query = f"v=1&NC=true&appKey={key}"
        self.request = build(
            "POST", f"{account}/chat/request.json?{query}", port, orjson.dumps({"request": {"skill": skill}})
        )
        self.availability = build("GET", f"{account}/chat/availability.json?{query}&skill={skill}", port)
        self.logins = agents
        self.visitors = [Connection(port) for _ in range(visitors)]
        self.agents: list[tuple[Connection, bytes, bytes, str]] = []  # connection, ring poll, accept, bearer
        self.query = query

    async def log_in(self) -> None:
        account = f"/api/account/{ACCOUNT}"
        for login in self.logins:
            http = Connection(self.port)
            credentials = orjson.dumps({"username": login, "password": login})
            status, _, body = await http.send(build("POST", f"{account}/login?v=1.3", self.port, credentials))
            if status != 200:
                raise SystemExit(f"login {login}: {status} {body[:200]!r}")
            bearer = orjson.loads(body)["bearer"]
            status, _, body = await http.send(
                build("POST", f"{account}/agentSession.json?v=1&NC=true", self.port, b'{"loginData":""}', bearer)
            )
            if status != 201:
                raise SystemExit(f"agent session {login}: {status} {body[:200]!r}")
            rings = path_of(orjson.loads(body)["agentSessionLocation"]["link"]["@href"]) + "/incomingRequests.json"
            self.agents.append(
                (
                    http,
                    build("GET", f"{rings}?v=1&NC=true&wait={self.wait}", self.port, bearer=bearer),
                    build("POST", f"{rings}?v=1&NC=true", self.port, b"{}", bearer),
                    bearer,
                )
            )

    async def reference(self, deadline: float, phase: Phase) -> None:
        async def visitor(http: Connection) -> None:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                status, _, body = await http.send(self.availability)
                phase.latencies["reference"].append(time.perf_counter() - start)
                phase.wrong["reference"] += status != 200 or b'"availability"' not in body

        await asyncio.gather(*(visitor(http) for http in self.visitors))

    async def routing(self, deadline: float, phase: Phase) -> None:
        stop = asyncio.Event()
        end_body = b'{"event":{"@type":"state","state":"ended"}}'

        async def agent(http: Connection, poll: bytes, accept: bytes, bearer: str) -> None:
            while not stop.is_set():
                start = time.perf_counter()
                status, _, body = await http.send(poll)
                phase.latencies["ring"].append(time.perf_counter() - start)
                ringing = RINGING.search(body) if status == 200 else None
                if ringing is None:
                    phase.wrong["ring"] += 1
                    continue
                for _ in range(int(ringing.group(1))):
                    start = time.perf_counter()
                    status, _, body = await http.send(accept)
                    if status == 404 and b'"internalCode"' in body:
                        phase.races += 1
                        continue
                    phase.latencies["accept"].append(time.perf_counter() - start)
                    href = HREF.search(body) if status == 201 and b'"chatLocation"' in body else None
                    if href is None:
                        phase.wrong["accept"] += 1
                        continue
                    chat = path_of(href.group(1))
                    start = time.perf_counter()
                    status, _, body = await http.send(
                        build("POST", f"{chat}/events.json?v=1&NC=true", self.port, end_body, bearer)
                    )
                    phase.latencies["end"].append(time.perf_counter() - start)
                    phase.wrong["end"] += status != 201 or b'"@href"' not in body

        async def visitor(http: Connection) -> None:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                status, head, _ = await http.send(self.request)
                phase.latencies["request"].append(time.perf_counter() - start)
                location = re.search(rb"\r\nlocation: *([^\r]+)", head, re.IGNORECASE)
                if status != 201 or location is None:
                    phase.wrong["request"] += 1
                    continue
                # The agent sees the chat under its own key: the visitor learns of the accept as a
                # widget does, from its long-poll of the chat's events (the opening first, then held).
                events = f"{path_of(location.group(1))}/events.json?{self.query}&wait={VISITOR_WAIT}&from="
                after, given_up = 0, time.monotonic() + 30
                while time.monotonic() < given_up:
                    begun = time.perf_counter()
                    status, _, body = await http.send(build("GET", f"{events}{after}", self.port))
                    phase.latencies["poll"].append(time.perf_counter() - begun)
                    if status != 200 or b'"events"' not in body:
                        phase.wrong["poll"] += 1
                        break
                    if b'"state":"chatting"' in body:
                        phase.delays.append(time.perf_counter() - start)
                        break
                    links = orjson.loads(body)["events"]["link"]
                    links = links if isinstance(links, list) else [links]
                    after = int(next(link["@href"] for link in links if link["@rel"] == "next").rsplit("from=", 1)[1])
                else:
                    phase.unaccepted += 1

        agents = [asyncio.create_task(agent(*one)) for one in self.agents]
        await asyncio.gather(*(visitor(http) for http in self.visitors))
        # Every chat asked for was accepted (or given up): no ring can come; drop the held polls.
        stop.set()
        await asyncio.sleep(0.2)  # an end in flight finishes
        for task in agents:
            task.cancel()
        results = await asyncio.gather(*agents, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                raise result
        for http, *_ in self.agents:
            http.close()  # a cancelled held poll leaves its connection mid-answer


def client_process(conn, port: int, key: str, skill: str, agents: list[str], visitors: int, wait: int) -> None:
    """Runs in a child process: logs its agents in, then runs each phase the parent asks for."""

    async def serve() -> None:
        client = Client(port, key, skill, agents, visitors, wait)
        await client.log_in()
        conn.send("ready")
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command is None:
                return
            kind, deadline = command
            phase = Phase()
            cpu, started = _cpu(), time.monotonic()
            await (client.reference if kind == "reference" else client.routing)(deadline, phase)
            phase.elapsed, phase.cpu = time.monotonic() - started, _cpu() - cpu
            conn.send(phase)

    asyncio.run(serve())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Round:
    reference: Phase
    routing: Phase
    server_cpu: dict[str, float]  # phase -> server CPU seconds
    server_busiest: dict[str, float]  # phase -> busiest server process's share of one core
    machine_busy: dict[str, float]  # phase -> share of all the machine's cores busy (any process's work)

    def rate(self, phase: str, kinds: tuple[str, ...]) -> float:
        measured = getattr(self, phase)
        return sum(len(measured.latencies[k]) for k in kinds) / measured.elapsed

    @property
    def chats(self) -> float:
        return len(self.routing.delays) / self.routing.elapsed


@dataclass
class Result:
    args: argparse.Namespace
    rounds: list[Round]
    rss_mb: float
    log_errors: list[str]

    @property
    def wrong(self) -> int:
        return sum(sum(p.wrong.values()) + p.unaccepted for r in self.rounds for p in (r.reference, r.routing))


def seed(database: str, args: argparse.Namespace) -> tuple[str, list[tuple[str, list[str], int]]]:
    """Account, one skill per client process with its agents; (app key, [(skill, logins, visitors)])."""
    parley("migrate", "--database", database)  # admin commands never create a database
    key = parley("account", "create", "--database", database, "--id", ACCOUNT)
    shares = []
    for p in range(args.processes):
        skill = f"Sales{p + 1}"
        parley("skill", "create", "--database", database, "--account", ACCOUNT, "--name", skill)
        logins = [f"a{p + 1}x{n + 1}" for n in range(p, args.agents, args.processes)]
        for login in logins:
            parley(
                "agent",
                "create",
                "--database",
                database,
                "--account",
                ACCOUNT,
                "--login",
                login,
                "--password",
                login,
                "--skills",
                skill,
                "--max-chats",
                str(MAX_CHATS),
            )
        visitors = len(range(p, args.visitors, args.processes))
        shares.append((skill, logins, min(visitors, len(logins) * MAX_CHATS)))
    return key, shares


def measure(args: argparse.Namespace) -> Result:
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-routing-"))
    database = f"sqlite:///{workdir / 'parley.db'}"
    key, shares = seed(database, args)
    port = free_port()
    # Every visitor and agent of the load comes from this one address: its limits are off.
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
            database,
            "--chat-request-limit",
            "off",
            "--login-address-limit",
            "off",
            "--submission-limit",
            "off",
        ],
        workdir / "parley.log",
        f"http://{HOST}:{port}/health",
    ).start()
    context = multiprocessing.get_context("spawn")  # no copy of this process's state or threads
    pipes, children = [], []
    rounds: list[Round] = []
    try:
        for skill, logins, visitors in shares:
            parent, child = context.Pipe()
            process = context.Process(
                target=client_process, args=(child, port, key, skill, logins, visitors, args.wait), daemon=True
            )
            process.start()
            pipes.append(parent)
            children.append(process)
        for pipe in pipes:
            if not pipe.poll(120) or pipe.recv() != "ready":
                raise SystemExit("a client process did not log its agents in within 120 s")
        run_phase(pipes, server, "reference", min(args.seconds, 2))  # warm-up: connections, caches
        for _ in range(args.rounds):
            phases = {kind: run_phase(pipes, server, kind, args.seconds) for kind in ("reference", "routing")}
            rounds.append(
                Round(
                    phases["reference"][0],
                    phases["routing"][0],
                    {k: v[1] for k, v in phases.items()},
                    {k: v[2] for k, v in phases.items()},
                    {k: v[3] for k, v in phases.items()},
                )
            )
        rss = server.rss_mb()
    finally:
        server.stop()  # first: whatever happens to the clients, no server outlives the script
        for pipe in pipes:
            with contextlib.suppress(OSError):  # that client process is gone already
                pipe.send(None)
        for process in children:
            process.join(10)
            if process.is_alive():
                process.kill()
    errors = [
        line for line in (workdir / "parley.log").read_text().splitlines() if "Traceback" in line or "ERROR" in line
    ]
    shutil.rmtree(workdir, ignore_errors=True)
    return Result(args, rounds, rss, errors)


def run_phase(pipes: list, server: Process, kind: str, seconds: float) -> tuple[Phase, float, float, float]:
    """One phase in every client process at once; (merged phase, server CPU s, busiest server process
    share of a core, share of the machine's cores busy)."""
    before, started, machine = cpu_by_process(server), time.monotonic(), psutil.cpu_times()
    for pipe in pipes:
        pipe.send((kind, time.monotonic() + seconds))  # CLOCK_MONOTONIC: the same clock in every process
    merged = Phase()
    for pipe in pipes:
        try:
            merged.merge(pipe.recv())
        except EOFError:
            raise SystemExit("a client process failed (its traceback is above)") from None
    after, elapsed = cpu_by_process(server), time.monotonic() - started
    spent = [after[pid] - before.get(pid, 0.0) for pid in after]
    now = psutil.cpu_times()
    total = sum(now) - sum(machine)
    idle = (now.idle + now.iowait) - (machine.idle + machine.iowait)
    return merged, sum(spent), max(spent, default=0.0) / elapsed, 1 - idle / max(total, 1e-9)


def saturation(result: Result) -> str:
    """Which side is CPU-bound during routing, from the medians over rounds."""
    server = statistics.median(r.server_busiest["routing"] for r in result.rounds)
    client = statistics.median(r.routing.cpu / r.routing.elapsed for r in result.rounds)
    busy = statistics.median(r.machine_busy["routing"] for r in result.rounds)
    cores = os.cpu_count() or 1
    per_client = client / result.args.processes
    if server >= SATURATED:
        verdict = "the SERVER saturates (its process is CPU-bound: one event loop, one core)"
    elif per_client >= SATURATED:
        verdict = "the CLIENT saturates (its processes are CPU-bound): add --processes"
    elif busy >= SATURATED:
        verdict = (
            f"the MACHINE saturates: its cores are {busy:.0%} busy, {busy * cores - server - client:.2f} cores"
            " of it other work, so the server gets less than a core"
        )
    else:
        verdict = "neither side is CPU-bound: requests wait (store commits, the closed loop): add --visitors"
    return (
        f"server {server:.2f} of a core, client {client:.2f} cores over {result.args.processes} processes"
        f" ({per_client:.2f} each; client CPU {client / max(server, 1e-9):.0%} of the server's),"
        f" machine {busy:.0%} busy of {cores} cores: {verdict}"
    )


def table(result: Result) -> list[list[str]]:
    rounds = result.rounds
    ref_rates = [r.rate("reference", ("reference",)) for r in rounds]

    def latency(values: list[float], q: float) -> str:
        ordered = sorted(values) or [0.0]
        return f"{1000 * ordered[min(int(len(ordered) * q), len(ordered) - 1)]:.1f}"

    def row(name: str, phase: str, kinds: tuple[str, ...], per_request: bool = True) -> list[str]:
        rates = [r.rate(phase, kinds) for r in rounds]
        everything = [x for r in rounds for k in kinds for x in getattr(r, phase).latencies[k]]
        wrong = sum(getattr(r, phase).wrong[k] for r in rounds for k in kinds)
        cpu = [
            1000 * r.server_cpu[phase] / max(sum(len(getattr(r, phase).latencies[k]) for k in KINDS), 1) for r in rounds
        ]
        return [
            name,
            median_and_range(rates, ",.0f"),
            f"{1000 * statistics.fmean(everything or [0.0]):.1f}",
            latency(everything, 0.95),
            median_and_range(cpu, ".3f") if per_request else "",
            str(wrong),
            median_and_range([a / b for a, b in zip(rates, ref_rates, strict=True)], ".2f"),
        ]

    delays = [x for r in rounds for x in r.routing.delays]
    chats = [r.chats for r in rounds]
    server_per_chat = [1000 * r.server_cpu["routing"] / max(len(r.routing.delays), 1) for r in rounds]
    client_per_chat = [1000 * r.routing.cpu / max(len(r.routing.delays), 1) for r in rounds]
    return [
        row("GET availability.json (reference)", "reference", ("reference",)),
        row("all routing requests", "routing", KINDS[1:]),
        row("  visitor POST chat/request.json", "routing", ("request",), False),
        row("  visitor GET events.json?wait (to chatting)", "routing", ("poll",), False),
        row("  agent GET incomingRequests?wait", "routing", ("ring",), False),
        row("  agent accept POST incomingRequests", "routing", ("accept",), False),
        row("  agent POST state=ended", "routing", ("end",), False),
        [
            "chats routed (request -> visitor sees chatting)",
            median_and_range(chats, ",.1f"),
            f"{1000 * statistics.fmean(delays or [0.0]):.1f}",
            latency(delays, 0.95),
            f"{median_and_range(server_per_chat, '.2f')} per chat (client {median_and_range(client_per_chat, '.2f')})",
            str(sum(r.routing.unaccepted for r in rounds)),
            "-",
        ],
    ]


def report(result: Result, command: str) -> None:
    a = result.args
    print(f"command: {command}")
    print(
        f"client: {a.processes} processes, raw asyncio HTTP/1.1, pre-built requests; {a.agents} agents x {MAX_CHATS}"
        f" slots, {a.visitors} visitors at once (closed loop), long-poll wait={a.wait};"
        f" {a.rounds} rounds of {a.seconds:g} s reference then {a.seconds:g} s routing; median (min-max) over rounds"
    )
    print_table(
        ["row", "per s", "mean ms", "p95 ms", "server CPU ms/request", "wrong", "ratio to reference"], table(result)
    )
    print(
        "ratio = the row's rate / the reference rate of the same round; wrong counts answers without the"
        " expected status and body (for chats: never accepted);"
        f" {sum(r.routing.races for r in result.rounds)} accepts found the ring gone (404, a race, not wrong)"
    )
    client_cpu = [1000 * r.routing.cpu / max(sum(len(r.routing.latencies[k]) for k in KINDS), 1) for r in result.rounds]
    print(f"client CPU ms/request during routing: {median_and_range(client_cpu, '.3f')}")
    print(f"which side saturates: {saturation(result)}")
    print(f"parley RSS (the server process) after the run: {result.rss_mb:.1f} MB")
    print(
        f"server log: {len(result.log_errors)} error lines" + "".join(f"\n  {line}" for line in result.log_errors[:3])
    )


def main() -> int:
    args = parse_args()
    result = measure(args)
    report(result, f"python bench/routing.py {shlex.join(sys.argv[1:])}".rstrip())
    if result.wrong:
        print(f"{result.wrong} answers were wrong: the rates above are not comparable", file=sys.stderr)
    return 1 if result.wrong else 0


if __name__ == "__main__":
    sys.exit(main())
