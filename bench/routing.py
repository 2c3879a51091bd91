"""Routing under a scripted load: K agents over HTTP take M chats that visitors request, then end them.

Each visitor asks for a chat and waits until an agent has accepted it before asking for the next one
(a closed loop: at most --visitors chats wait at a time, fewer than the agents' free slots, so the
delay measured is routing itself, not a queue behind busy agents). Each agent long-polls its rings,
accepts and ends the chat at once. Run: python bench/routing.py [--agents 10] [--chats 300]
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from harness import HOST, Process, free_port, parley, print_table

ACCOUNT = "12345"
SKILL = "Sales"
MAX_CHATS = 4  # slots per agent; --visitors stays below agents x slots so no chat waits for a slot
JSON = {"Accept": "application/json"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10, help="agents logged in (default 10)")
    parser.add_argument("--chats", type=int, default=300, help="chats to request in all (default 300)")
    parser.add_argument("--visitors", type=int, default=20, help="visitors requesting at once (default 20)")
    parser.add_argument("--seconds", type=float, default=30, help="stop requesting after this (default 30)")
    parser.add_argument("--wait", type=int, default=5, help="agents' long-poll hold, wait=S (default 5)")
    parser.add_argument(
        "--reference", type=int, default=1000, help="availability requests in the reference row (default 1000)"
    )
    args = parser.parse_args()
    if args.visitors > args.agents * MAX_CHATS:
        parser.error(f"--visitors must be at most agents x {MAX_CHATS} = {args.agents * MAX_CHATS}")
    return args


class Stats:
    """Per-call latencies and non-2xx answers of one kind of request."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0

    def add(self, seconds: float, ok: bool = True) -> None:
        self.latencies.append(seconds)
        self.errors += not ok

    def row(self, name: str, elapsed: float, reference_rate: float | None) -> list[str]:
        count = len(self.latencies)
        rate = count / elapsed
        ordered = sorted(self.latencies) or [0.0]
        p95 = ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)]
        ratio = f"{rate / reference_rate:.2f}" if reference_rate else "1.00"
        return [
            name,
            str(count),
            f"{rate:,.1f}",
            f"{1000 * statistics.fmean(ordered):.1f}",
            f"{1000 * p95:.1f}",
            str(self.errors),
            ratio,
        ]


class Run:
    def __init__(self, args: argparse.Namespace, base: str, key: str) -> None:
        self.args, self.base, self.key = args, base, key
        self.account = f"{base}/api/account/{ACCOUNT}"
        self.query = f"v=1&NC=true&appKey={key}"
        self.requests, self.rings, self.accepts, self.ends = Stats(), Stats(), Stats(), Stats()
        self.delays = Stats()  # from the visitor's request to the agent's accept
        self.accepted: dict[str, asyncio.Future] = {}  # chat id -> time accepted; whoever comes first makes it
        self.stop = asyncio.Event()
        self.logged_in = asyncio.Semaphore(0)  # released once per agent session
        self.issued = 0

    def _accepted(self, chat_id: str) -> asyncio.Future:
        return self.accepted.setdefault(chat_id, asyncio.get_running_loop().create_future())

    async def agent(self, http: httpx.AsyncClient, login: str) -> None:
        body = (await http.post(f"{self.account}/login?v=1.3", json={"username": login, "password": login})).json()
        http.headers["Authorization"] = f"Bearer {body['bearer']}"
        response = await http.post(f"{self.account}/agentSession.json?v=1&NC=true", json={"loginData": ""})
        rings = response.json()["agentSessionLocation"]["link"]["@href"] + "/incomingRequests.json?v=1&NC=true"
        self.logged_in.release()
        while not self.stop.is_set():
            start = time.perf_counter()
            response = await http.get(f"{rings}&wait={self.args.wait}", timeout=self.args.wait + 10)
            self.rings.add(time.perf_counter() - start, response.is_success)
            for _ in range(int(response.json()["incomingRequests"]["ringingCount"]) if response.is_success else 0):
                start = time.perf_counter()
                response = await http.post(rings, json={})
                accepted = time.perf_counter()
                if response.status_code == 404:  # the ring went away between the count and the accept
                    continue
                self.accepts.add(accepted - start, response.is_success)
                if not response.is_success:
                    continue
                chat = response.json()["chatLocation"]["link"]["@href"]
                future = self._accepted(chat.rsplit("/", 1)[1])
                if not future.done():
                    future.set_result(accepted)
                start = time.perf_counter()
                response = await http.post(chat + "/events.json", json={"event": {"@type": "state", "state": "ended"}})
                self.ends.add(time.perf_counter() - start, response.is_success)

    async def visitor(self, http: httpx.AsyncClient, deadline: float) -> None:
        while self.issued < self.args.chats and time.perf_counter() < deadline:
            self.issued += 1
            start = time.perf_counter()
            response = await http.post(
                f"{self.account}/chat/request.json?{self.query}", json={"request": {"skill": SKILL}}
            )
            self.requests.add(time.perf_counter() - start, response.status_code == 201)
            if response.status_code != 201:
                continue
            try:
                accepted = await asyncio.wait_for(
                    self._accepted(response.headers["location"].rsplit("/", 1)[1]),
                    timeout=max(deadline - time.perf_counter(), 0) + 10,
                )
            except TimeoutError:
                self.delays.errors += 1  # never accepted
                continue
            self.delays.add(accepted - start)

    async def reference(self, visitors: list[httpx.AsyncClient], count: int) -> tuple[Stats, float]:
        """The same visitor clients and concurrency, ``count`` plain availability checks."""
        stats, left = Stats(), count

        async def one_visitor(http: httpx.AsyncClient) -> None:
            nonlocal left
            while left > 0:
                left -= 1
                start = time.perf_counter()
                response = await http.get(f"{self.account}/chat/availability.json?{self.query}&skill={SKILL}")
                stats.add(time.perf_counter() - start, response.is_success)

        started = time.perf_counter()
        await asyncio.gather(*(one_visitor(http) for http in visitors))
        return stats, time.perf_counter() - started

    async def main(self) -> list[list[str]]:
        a = self.args
        # One client each, as each is its own browser; this is also ~3x faster than one httpx pool
        # shared by many tasks, so the client limits the numbers less.
        agents = [httpx.AsyncClient(timeout=30, headers=JSON) for _ in range(a.agents)]
        visitors = [httpx.AsyncClient(timeout=30, headers=JSON) for _ in range(a.visitors)]
        try:
            await self.reference(visitors, 10 * a.visitors)  # warm-up: open the connections, fill caches
            reference, reference_elapsed = await self.reference(visitors, a.reference)
            tasks = [asyncio.create_task(self.agent(http, f"a{n + 1}")) for n, http in enumerate(agents)]
            for _ in agents:
                await asyncio.wait_for(self.logged_in.acquire(), 30)
            started = time.perf_counter()
            deadline = started + a.seconds
            await asyncio.gather(*(self.visitor(http, deadline) for http in visitors))
            elapsed = time.perf_counter() - started
            self.stop.set()
            await asyncio.sleep(0.5)  # let the last ends finish; long-polls still holding are cancelled
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for http in agents + visitors:
                await http.aclose()
        reference_rate = len(reference.latencies) / reference_elapsed
        return [
            reference.row("GET availability.json (reference)", reference_elapsed, None),
            self.requests.row("visitor POST chat/request.json", elapsed, reference_rate),
            self.accepts.row("agent accept POST incomingRequests", elapsed, reference_rate),
            # A delay, not a request of its own: its rate and ratio would repeat the accept row's.
            self.delays.row("  request -> accept delay", elapsed, reference_rate)[:2]
            + ["-"]
            + self.delays.row("", elapsed, reference_rate)[3:6]
            + ["-"],
            self.ends.row("agent POST state=ended", elapsed, reference_rate),
            self.rings.row("agent GET incomingRequests?wait", elapsed, reference_rate),
        ]


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-routing-"))
    database = f"sqlite:///{workdir / 'parley.db'}"
    # Seeded before the start, without --demo: no demo bot, only our agents take chats.
    parley("migrate", "--database", database)  # admin commands never create a database
    key = parley("account", "create", "--database", database, "--id", ACCOUNT)
    parley("skill", "create", "--database", database, "--account", ACCOUNT, "--name", SKILL)
    for n in range(1, args.agents + 1):
        parley(
            "agent",
            "create",
            "--database",
            database,
            "--account",
            ACCOUNT,
            "--login",
            f"a{n}",
            "--password",
            f"a{n}",
            "--skills",
            SKILL,
            "--max-chats",
            str(MAX_CHATS),
        )
    port = free_port()
    base = f"http://{HOST}:{port}"
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
        base + "/health",
    ).start()
    try:
        rows = asyncio.run(Run(args, base, key).main())
        rss = server.rss_mb()
    finally:
        server.stop()
    print(f"command: python bench/routing.py {shlex.join(sys.argv[1:])}".rstrip())
    print(
        f"client: asyncio + httpx; {args.agents} agents x {MAX_CHATS} slots, {args.visitors} visitors at once,"
        f" up to {args.chats} chats or {args.seconds:g} s, long-poll wait={args.wait}"
    )
    print_table(["row", "count", "per s", "mean ms", "p95 ms", "errors", "ratio"], rows)
    print(
        "the rows below the reference share one run; ratio = their rate / the reference rate."
        " the rings row counts long-polls (each held until a ring or wait=S)"
    )
    print(f"parley RSS (the server process) after the run: {rss:.1f} MB")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
