"""Held long-polls: N open chats, each holding a ``wait=`` long-poll; server memory and whether it
still answers a fresh request, against the same server idle with the same open chats.

Run: python bench/held_polls.py [--chats 10000] [--wait 50] [--max-connections N]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from harness import HOST, Process, free_port, parley, print_table

ACCOUNT = "12345"
# Long enough that no open chat times out while the script runs (requests may ask for up to 86400 s).
CHAT_TIMEOUT = 3600
SETTLE_SECONDS = 3.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000, help="open chats, one held poll each (default 10000)")
    parser.add_argument("--wait", type=int, default=50, help="the polls' wait= in seconds (default 50, the most)")
    parser.add_argument(
        "--max-connections", type=int, default=None, help="passed to parley serve (default: parley's own default)"
    )
    return parser.parse_args(argv)


def raise_open_files(needed: int) -> None:
    """This client holds one socket per poll: lift the soft open-file limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft != resource.RLIM_INFINITY and soft < needed + 100:
        sys.exit(f"the open-file limit ({soft}) is below {needed + 100}: raise it (ulimit -n) or use fewer --chats")


async def open_chats(base: str, key: str, count: int) -> list[str]:
    """Chat paths (no host) with the query of a poll for what comes after the greeting."""
    query = f"v=1&NC=true&appKey={key}"
    paths: list[str] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=20)) as client:

        async def one(_: int) -> None:
            response = await client.post(
                f"{base}/api/account/{ACCOUNT}/chat/request.json?{query}",
                json={"request": {"interactionTimeout": CHAT_TIMEOUT}},
            )
            if response.status_code != 201:
                sys.exit(f"chat request answered {response.status_code}: {response.text[:300]}")
            paths.append(response.headers["location"].split(str(HOST), 1)[1].split("/", 1)[1])

        for start in range(0, count, 200):
            await asyncio.gather(*(one(n) for n in range(start, min(count, start + 200))))
        # Every chat has the same opening (state waiting, the queue's system line): the next event is this.
        first = (await client.get(f"{base}/{paths[0]}/events.json?{query}")).json()
        following = [link["@href"] for link in first["events"]["link"] if link["@rel"] == "next"][0]
        after = following.split("from=")[1]
    return [f"/{path}/events.json?{query}&from={after}" for path in paths]


def server_connections(pid: int, port: int) -> int:
    """Connections the server process has accepted (the kernel's backlog holds the others)."""
    return sum(
        1
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.raddr and c.status == psutil.CONN_ESTABLISHED
    )


async def fresh_requests(base: str, key: str) -> tuple[int, float]:
    """A fresh /health and a fresh chat request, each on a new connection: (how many answered, slowest s)."""
    answered, slowest = 0, 0.0
    for method, url, body in (
        ("GET", f"{base}/health", None),
        (
            "POST",
            f"{base}/api/account/{ACCOUNT}/chat/request.json?v=1&NC=true&appKey={key}",
            {"request": {"interactionTimeout": CHAT_TIMEOUT}},
        ),
    ):
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.request(method, url, json=body)
            answered += response.status_code in (200, 201)
        except httpx.HTTPError:
            pass
        slowest = max(slowest, time.monotonic() - started)
    return answered, slowest


async def hold_all(port: int, paths: list[str], wait: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    async def one(path: str):
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(f"GET {path}&wait={wait} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        await writer.drain()
        return reader, writer

    sockets = []
    for start in range(0, len(paths), 500):
        sockets += await asyncio.gather(*(one(path) for path in paths[start : start + 500]))
    return sockets


async def hold_and_count(port: int, pid: int, paths: list[str], wait: int):
    """Open a held poll per chat; wait until the server has accepted them all (or ``wait`` - 10 s)."""
    started = time.monotonic()
    sockets = await hold_all(port, paths, wait)
    while time.monotonic() - started < min(wait - 10, 30):
        if server_connections(pid, port) >= len(sockets):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(SETTLE_SECONDS)  # the last accepted ones parse and start holding
    return sockets, server_connections(pid, port)


@dataclass
class Held:
    """One run's numbers: RSS in MB; fresh requests as (answered of 2, slowest s)."""

    chats: int
    wait: int
    idle: float
    idle_fresh: tuple[int, float]
    held_rss: float
    held_fresh: tuple[int, float]
    accepted: int
    answered_early: int
    elapsed: float
    after_rss: float
    left: int
    after_fresh: tuple[int, float]
    again_rss: float
    again_accepted: int
    log_errors: list[str] = field(default_factory=list)

    @property
    def held(self) -> int:
        """Polls the server accepted and left unanswered (all of them, when it holds them all)."""
        return self.accepted - self.answered_early


async def run(args: argparse.Namespace, server: Process, base: str, key: str, port: int) -> Held:
    pid = server.popen.pid
    paths = await open_chats(base, key, args.chats)
    await asyncio.sleep(SETTLE_SECONDS)
    idle = server.rss_mb()
    idle_fresh = await fresh_requests(base, key)

    started = time.monotonic()
    sockets, accepted = await hold_and_count(port, pid, paths, args.wait)
    held_fresh = await fresh_requests(base, key)
    held_rss = server.rss_mb()
    # A poll answered already was not held (the reserve, or an error): count those.
    answered_early = sum(1 for reader, _ in sockets if reader._buffer or reader.at_eof())  # noqa: SLF001
    elapsed = time.monotonic() - started

    for _, writer in sockets:
        writer.close()
    await asyncio.sleep(SETTLE_SECONDS)
    after_rss = server.rss_mb()
    left = server_connections(pid, port)
    after_fresh = await fresh_requests(base, key)

    # Freed memory stays with the allocators (RSS); a second round shows it is reused, not leaked.
    again, again_accepted = await hold_and_count(port, pid, paths, args.wait)
    again_rss = server.rss_mb()
    for _, writer in again:
        writer.close()
    await asyncio.sleep(SETTLE_SECONDS)

    return Held(
        len(sockets),
        args.wait,
        idle,
        idle_fresh,
        held_rss,
        held_fresh,
        accepted,
        answered_early,
        elapsed,
        after_rss,
        left,
        after_fresh,
        again_rss,
        again_accepted,
    )


def report(h: Held) -> None:
    idle, idle_fresh, held_rss, held_fresh, accepted = h.idle, h.idle_fresh, h.held_rss, h.held_fresh, h.accepted
    after_rss, after_fresh, left, again_rss, again_accepted = (
        h.after_rss,
        h.after_fresh,
        h.left,
        h.again_rss,
        h.again_accepted,
    )
    answered_early, elapsed, n = h.answered_early, h.elapsed, h.chats
    print_table(
        ["phase", "server RSS MB", "ratio to idle", "fresh answered (of 2)", "slowest fresh s", "connections"],
        [
            [
                f"idle: {n} open chats, no poll held (reference)",
                f"{idle:.0f}",
                "1.00",
                idle_fresh[0],
                f"{idle_fresh[1]:.3f}",
                "-",
            ],
            [
                f"{n} polls held (wait={h.wait})",
                f"{held_rss:.0f}",
                f"{held_rss / idle:.2f}",
                held_fresh[0],
                f"{held_fresh[1]:.3f}",
                f"{accepted} accepted",
            ],
            [
                f"{SETTLE_SECONDS:.0f} s after the clients disconnected",
                f"{after_rss:.0f}",
                f"{after_rss / idle:.2f}",
                after_fresh[0],
                f"{after_fresh[1]:.3f}",
                f"{left} left",
            ],
            [
                f"{n} polls held again",
                f"{again_rss:.0f}",
                f"{again_rss / idle:.2f}",
                "-",
                "-",
                f"{again_accepted} accepted",
            ],
        ],
    )
    print()
    print(
        f"held: {accepted - answered_early} of {n} polls accepted and unanswered "
        f"({answered_early} answered before their wait, {n - accepted} not accepted) "
        f"{elapsed:.1f} s after the first was sent"
    )
    print(
        f"memory per held poll: {(held_rss - idle) * 1024 / n:.1f} KiB; "
        f"per idle open chat: {idle * 1024 / n:.1f} KiB of the whole process"
    )
    print(f"memory kept after the clients left: {after_rss - idle:.0f} MB above idle")
    print(f"server log: {len(h.log_errors)} error lines" + "".join(f"\n  {line}" for line in h.log_errors[-20:]))


def error_lines(log: str) -> list[str]:
    """The log's error records, and each plain-text traceback whole (its lines up to the next JSON record)."""
    found, in_traceback = [], False
    for line in log.splitlines():
        in_traceback = "Traceback" in line or (in_traceback and not line.startswith("{"))
        if in_traceback or '"level":"error"' in line or "ERROR" in line:
            found.append(line)
    return found


def measure(args: argparse.Namespace) -> Held:
    raise_open_files(args.chats)
    with tempfile.TemporaryDirectory(prefix="parley-held-") as workdir:
        work = Path(workdir)
        database = f"sqlite:///{work / 'parley.db'}"
        parley("migrate", "--database", database)  # admin commands never create a database
        key = parley("account", "create", "--database", database, "--id", ACCOUNT)
        port = free_port()
        base = f"http://{HOST}:{port}"
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
            database,
            "--chat-request-limit",
            "off",
            "--no-agent-policy",
            "queue",
        ]
        if args.max_connections is not None:
            command += ["--max-connections", str(args.max_connections)]
        print("$", shlex.join(command), flush=True)
        server = Process(command, work / "parley.log", base + "/health").start()
        try:
            held = asyncio.run(run(args, server, base, key, port))
        finally:
            server.stop()
        held.log_errors = error_lines((work / "parley.log").read_text())
    return held


def main() -> None:
    args = parse_args()
    print("$", shlex.join([sys.executable, *sys.argv]))
    report(measure(args))


if __name__ == "__main__":
    main()
