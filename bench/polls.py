"""Idle-poll throughput: N open chats polled for "nothing new", against a bare ASGI app on granian.

Every visitor polls its chat every ~2 s and usually finds nothing new, so this is the load that
dominates a chat server (DESIGN.md invariant 4). Run: python bench/polls.py [--seconds 10] [--connections 50]
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from harness import HOST, Process, free_port, parley, print_table

ACCOUNT = "12345"
KEY = "721c180b09eb463d9f3191c41762bb68"  # the demo app key `parley serve --demo` seeds
QUERY = f"v=1&NC=true&appKey={KEY}"
# The demo agent natalie takes only 4 chats; a second bot with no limit takes the rest.
HELPER_LOGIN = "benchbot"
# Long enough that no chat times out while we poll (requests may ask for up to 86400 s).
CHAT_TIMEOUT = 3600

# wrk runs this per thread: rotate over the chats' URLs, check every answer (status 200, the body
# holds EXPECT and not REJECT), and print one parseable line at the end with the threads' counts.
WRK_SCRIPT = """\
local paths = {%s}
local expect, reject = %s, %s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = 0; bad = 0 end
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, expect, 1, true) or (reject ~= "" and string.find(body, reject, 1, true)) then
    bad = bad + 1
  end
end
done = function(summary, latency, requests)
  local e, wrong = summary.errors, 0
  for _, thread in ipairs(threads) do wrong = wrong + thread:get("bad") end
  io.write(string.format("RESULT %%d %%d %%f %%f %%d %%d\\n", summary.requests, summary.duration,
    latency.mean, latency:percentile(99), wrong, e.connect + e.read + e.write + e.timeout))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="load duration per row and round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each runs every row once (default 3)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--chats", type=int, default=50, help="open chats to poll (default 50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--tool",
        choices=["auto", "wrk", "httpx"],
        default="auto",
        help="load tool; auto = wrk when installed, else httpx (default auto)",
    )
    return parser.parse_args()


@dataclass
class Result:
    rate: float  # answers per second
    mean_ms: float
    p99_ms: float
    wrong: int  # answers that were not 200 with the expected body
    socket_errors: int
    cpu_ms: float  # server CPU time (user + system) per answer


@dataclass
class Row:
    """One measured thing: what to load, what every answer must hold, which server answers it."""

    name: str
    paths: list[str]
    expect: str
    reject: str
    server: Process
    skip: str = ""  # processes of the server's group not counted as the server (the demo bot)
    results: list[Result] = field(default_factory=list)


class Load:
    """One load tool, run the same way against every row."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.tool = args.tool
        if self.tool == "auto":
            self.tool = "wrk" if shutil.which("wrk") else "httpx"
        if self.tool == "wrk" and not shutil.which("wrk"):
            sys.exit("wrk is not installed: apt-get install -y wrk (or run with --tool httpx)")
        if self.tool == "httpx" and args.tool == "auto":
            print(
                "wrk not found (install it with: apt-get install -y wrk); using the slower httpx client,"
                " which will itself be the bottleneck",
                file=sys.stderr,
            )

    def run(self, row: Row) -> Result:
        cpu_before = cpu_seconds(row.server, row.skip)
        if self.tool == "wrk":
            requests, rate, mean_ms, p99_ms, wrong, socket_errors = self._wrk(row)
        else:
            requests, rate, mean_ms, p99_ms, wrong, socket_errors = asyncio.run(self._httpx(row))
        cpu = cpu_seconds(row.server, row.skip) - cpu_before
        return Result(rate, mean_ms, p99_ms, wrong, socket_errors, 1000 * cpu / max(requests, 1))

    def _wrk(self, row: Row):
        script = self.workdir / "rotate.lua"
        script.write_text(WRK_SCRIPT % (", ".join(f'"{p}"' for p in row.paths), lua(row.expect), lua(row.reject)))
        a = self.args
        command = [
            "wrk",
            f"-t{a.threads}",
            f"-c{a.connections}",
            f"-d{a.seconds}s",
            "-s",
            str(script),
            row.server.health.rsplit("/", 1)[0],
        ]
        done = subprocess_run(command, timeout=a.seconds + 30)
        line = next(l for l in done.splitlines() if l.startswith("RESULT "))
        requests, micros, mean_us, p99_us, wrong, socket_errors = (float(x) for x in line.split()[1:])
        return requests, requests / (micros / 1e6), mean_us / 1000, p99_us / 1000, int(wrong), int(socket_errors)

    async def _httpx(self, row: Row):
        a = self.args
        latencies: list[float] = []
        wrong = socket_errors = 0
        deadline = time.perf_counter() + a.seconds
        base = row.server.health.rsplit("/", 1)[0]

        async def connection(offset: int) -> None:
            # One client per connection: ~3x faster than many tasks sharing one httpx pool.
            nonlocal wrong, socket_errors
            n = offset
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                while time.perf_counter() < deadline:
                    n += 1
                    start = time.perf_counter()
                    try:
                        answer = await http.get(row.paths[n % len(row.paths)])
                    except httpx.HTTPError:
                        socket_errors += 1
                        continue
                    latencies.append(time.perf_counter() - start)
                    body = answer.text
                    wrong += (
                        answer.status_code != 200 or row.expect not in body or bool(row.reject and row.reject in body)
                    )

        started = time.perf_counter()
        await asyncio.gather(*(connection(i) for i in range(a.connections)))
        elapsed = time.perf_counter() - started
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0.0
        mean = sum(latencies) / max(len(latencies), 1)
        return len(latencies), len(latencies) / elapsed, 1000 * mean, 1000 * p99, wrong, socket_errors


def lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cpu_seconds(server: Process, skip: str = "") -> float:
    """User + system CPU of the server's process and its descendants (the reference's granian
    worker), leaving out those whose command line holds ``skip`` (the demo bot)."""
    root = psutil.Process(server.popen.pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            if skip and skip in process.cmdline():
                continue
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def subprocess_run(command: list[str], timeout: float) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return done.stdout


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
                    nxt = next(l["@href"] for l in events["link"] if l["@rel"] == "next")
                    ready.append((path, int(nxt.rsplit("from=", 1)[1])))
                    break
                if time.monotonic() > deadline:
                    sys.exit(f"chat {path} was not accepted within 60 s; is the bot running?")
                time.sleep(0.2)
        nothing_new = http.get(f"{ready[0][0]}/events.json?{QUERY}&from={ready[0][1]}").json()["events"]
        assert "event" not in nothing_new, nothing_new
    return ready


def median_and_range(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-polls-"))
    load = Load(args, workdir)
    memory: list[str] = []

    # The reference: the same HTTP server (granian, one worker, no access log) around a do-nothing
    # app. It runs beside parley for the whole run, so every round measures both.
    port = free_port()
    reference = Process(
        [
            "granian",
            "--interface",
            "asgi",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--working-dir",
            str(Path(__file__).parent),
            "reference_app:app",
        ],
        workdir / "reference.log",
        f"http://{HOST}:{port}/",
    ).start()
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
                row.results.append(load.run(row))
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
    print(
        f"load tool: {load.tool}"
        + (f" -t{args.threads}" if load.tool == "wrk" else "")
        + f", {args.connections} connections, {args.seconds} s per row, {args.rounds} rounds interleaved,"
        f" URLs rotated over {args.chats} chats; median (min-max) over rounds"
    )
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
