"""The load tool the throughput benchmarks share (polls.py, scaleout.py): the same client, run the
same way against every row, every answer checked, and the server CPU each answer cost."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from harness import HOST, Process, free_port

# wrk runs this per thread: rotate over the rows' URLs, check every answer (the status the row
# wants, the body holds EXPECT and not REJECT), and print one parseable line at the end with the
# threads' counts. A row with a BODY posts it as JSON.
WRK_SCRIPT = """\
local paths = {%s}
local method, body, want = %s, %s, %d
local expect, reject = %s, %s
local headers = {}
if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = 0; bad = 0 end
request = function()
  n = n + 1
  return wrk.format(method, paths[(n %% #paths) + 1], headers, body)
end
response = function(status, headers, body)
  if status ~= want or not string.find(body, expect, 1, true)
     or (reject ~= "" and string.find(body, reject, 1, true)) then
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=int, default=10, help="load duration per row and round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each runs every row once (default 3)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--tool",
        choices=["auto", "wrk", "httpx"],
        default="auto",
        help="load tool; auto = wrk when installed, else httpx (default auto)",
    )


@dataclass
class Result:
    requests: int  # answers received
    rate: float  # answers per second
    mean_ms: float
    p99_ms: float
    wrong: int  # answers without the row's status and body
    socket_errors: int
    cpu_ms: float  # server CPU time (user + system) per answer
    busiest: float  # CPU of the server's busiest process over the row's time: 1.0 is one core, all the time

    @property
    def good(self) -> int:
        return self.requests - self.wrong


@dataclass
class Row:
    """One measured thing: what to send, what every answer must hold, which server answers it."""

    name: str
    paths: list[str]
    expect: str
    reject: str
    server: Process
    skip: str = ""  # processes of the server's group not counted as the server (the demo bot)
    method: str = "GET"
    body: str = ""  # JSON posted with every request (when set)
    status: int = 200
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

    def describe(self) -> str:
        a = self.args
        return (
            f"load tool: {self.tool}"
            + (f" -t{a.threads}" if self.tool == "wrk" else "")
            + f", {a.connections} connections, {a.seconds} s per row, {a.rounds} rounds interleaved"
        )

    def run(self, row: Row) -> Result:
        cpu_before, started = cpu_by_process(row.server, row.skip), time.perf_counter()
        if self.tool == "wrk":
            requests, rate, mean_ms, p99_ms, wrong, socket_errors = self._wrk(row)
        else:
            requests, rate, mean_ms, p99_ms, wrong, socket_errors = asyncio.run(self._httpx(row))
        cpu_after, elapsed = cpu_by_process(row.server, row.skip), time.perf_counter() - started
        spent = [cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in cpu_after]
        result = Result(
            int(requests),
            rate,
            mean_ms,
            p99_ms,
            wrong,
            socket_errors,
            1000 * sum(spent) / max(requests, 1),
            max(spent, default=0.0) / elapsed,
        )
        row.results.append(result)
        return result

    def _wrk(self, row: Row):
        script = self.workdir / "rotate.lua"
        script.write_text(
            WRK_SCRIPT
            % (
                ", ".join(f'"{p}"' for p in row.paths),
                lua(row.method),
                lua(row.body),
                row.status,
                lua(row.expect),
                lua(row.reject),
            )
        )
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
        line = next(text for text in done.splitlines() if text.startswith("RESULT "))
        requests, micros, mean_us, p99_us, wrong, socket_errors = (float(x) for x in line.split()[1:])
        return requests, requests / (micros / 1e6), mean_us / 1000, p99_us / 1000, int(wrong), int(socket_errors)

    async def _httpx(self, row: Row):
        a = self.args
        latencies: list[float] = []
        wrong = socket_errors = 0
        deadline = time.perf_counter() + a.seconds
        base = row.server.health.rsplit("/", 1)[0]
        headers = {"content-type": "application/json"} if row.body else {}

        async def connection(offset: int) -> None:
            # One client per connection: ~3x faster than many tasks sharing one httpx pool.
            nonlocal wrong, socket_errors
            n = offset
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                while time.perf_counter() < deadline:
                    n += 1
                    start = time.perf_counter()
                    try:
                        answer = await http.request(
                            row.method, row.paths[n % len(row.paths)], content=row.body or None, headers=headers
                        )
                    except httpx.HTTPError:
                        socket_errors += 1
                        continue
                    latencies.append(time.perf_counter() - start)
                    body = answer.text
                    wrong += (
                        answer.status_code != row.status
                        or row.expect not in body
                        or bool(row.reject and row.reject in body)
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


def cpu_by_process(server: Process, skip: str = "") -> dict[int, float]:
    """User + system CPU seconds of the server's process and of each descendant (the reference's
    granian worker, ``--workers`` processes), leaving out those whose command line holds ``skip``
    (the demo bot)."""
    root = psutil.Process(server.popen.pid)
    spent = {}
    for process in [root, *root.children(recursive=True)]:
        try:
            if skip and skip in process.cmdline():
                continue
            times = process.cpu_times()
            spent[process.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return spent


def subprocess_run(command: list[str], timeout: float) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return done.stdout


def median_and_range(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def reference_server(workdir: Path) -> Process:
    """The reference: the same HTTP server parley embeds (granian, one worker, no access log)
    around a do-nothing app (``reference_app.py``)."""
    port = free_port()
    return Process(
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
