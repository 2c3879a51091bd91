"""Idle-poll throughput: N open chats polled for "nothing new", against a bare ASGI app on granian.

Every visitor polls its chat every ~2 s and usually finds nothing new, so this is the load that
dominates a chat server (DESIGN.md invariant 4). Run: python bench/polls.py [--seconds 10] [--connections 50]
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from harness import HOST, Process, free_port, parley, print_table

ACCOUNT = "12345"
KEY = "721c180b09eb463d9f3191c41762bb68"  # the demo app key `parley serve --demo` seeds
QUERY = f"v=1&NC=true&appKey={KEY}"
# The demo agent natalie takes only 4 chats; a second bot with no limit takes the rest.
HELPER_LOGIN = "benchbot"
# Long enough that no chat times out while we poll (requests may ask for up to 86400 s).
CHAT_TIMEOUT = 3600

# wrk runs this per thread: rotate over the chats' URLs, and print one parseable line at the end.
WRK_SCRIPT = """\
local paths = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%f %%f %%d %%d\\n", summary.requests, summary.duration,
    latency.mean, latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="load duration per row (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--chats", type=int, default=50, help="open chats to poll (default 50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--tool", choices=["auto", "wrk", "httpx"], default="auto",
                        help="load tool; auto = wrk when installed, else httpx (default auto)")
    return parser.parse_args()


class Load:
    """One load tool, run the same way against every row; returns (requests/s, mean ms, p99 ms, errors)."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.tool = args.tool
        if self.tool == "auto":
            self.tool = "wrk" if shutil.which("wrk") else "httpx"
        if self.tool == "wrk" and not shutil.which("wrk"):
            sys.exit("wrk is not installed: apt-get install -y wrk (or run with --tool httpx)")
        if self.tool == "httpx" and args.tool == "auto":
            print("wrk not found (install it with: apt-get install -y wrk); using the slower httpx client,"
                  " which will itself be the bottleneck", file=sys.stderr)

    def run(self, base: str, paths: list[str]) -> tuple[float, float, float, int]:
        if self.tool == "wrk":
            return self._wrk(base, paths)
        return asyncio.run(self._httpx(base, paths))

    def _wrk(self, base: str, paths: list[str]) -> tuple[float, float, float, int]:
        script = self.workdir / "rotate.lua"
        script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
        a = self.args
        command = ["wrk", f"-t{a.threads}", f"-c{a.connections}", f"-d{a.seconds}s", "-s", str(script), base]
        done = subprocess_run(command, timeout=a.seconds + 30)
        line = next(l for l in done.splitlines() if l.startswith("RESULT "))
        requests, micros, mean_us, p99_us, status_errors, socket_errors = (float(x) for x in line.split()[1:])
        return requests / (micros / 1e6), mean_us / 1000, p99_us / 1000, int(status_errors + socket_errors)

    async def _httpx(self, base: str, paths: list[str]) -> tuple[float, float, float, int]:
        a = self.args
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + a.seconds

        async def connection(offset: int) -> None:
            # One client per connection: ~3x faster than many tasks sharing one httpx pool.
            nonlocal errors
            n = offset
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                while time.perf_counter() < deadline:
                    n += 1
                    start = time.perf_counter()
                    try:
                        ok = (await http.get(paths[n % len(paths)])).status_code < 400
                    except httpx.HTTPError:
                        ok = False
                    latencies.append(time.perf_counter() - start)
                    errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(connection(i) for i in range(a.connections)))
        elapsed = time.perf_counter() - started
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0.0
        return len(latencies) / elapsed, 1000 * sum(latencies) / max(len(latencies), 1), 1000 * p99, errors


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
            response = http.post(f"/api/account/{ACCOUNT}/chat/request.json?{QUERY}",
                                 json={"request": {"skill": "Sales", "interactionTimeout": CHAT_TIMEOUT}})
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


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-polls-"))
    load = Load(args, workdir)
    rows: list[list[str]] = []
    memory: list[str] = []

    # The reference: the same server (granian, one worker, no access log) around a do-nothing app.
    port = free_port()
    reference = Process(["granian", "--interface", "asgi", "--host", HOST, "--port", str(port), "--workers", "1",
                         "--no-access-log", "--working-dir", str(Path(__file__).parent), "reference_app:app"],
                        workdir / "reference.log", f"http://{HOST}:{port}/").start()
    paths_ref = [f"/api/account/{ACCOUNT}/chat/c{i}/events.json?{QUERY}&from=5" for i in range(args.chats)]
    try:
        ref = load.run(f"http://{HOST}:{port}", paths_ref)
        memory.append(f"reference RSS after load: {reference.rss_mb():.1f} MB")
    finally:
        reference.stop()
    rows.append(["bare ASGI app (reference)", f"{ref[0]:,.0f}", f"{ref[1]:.2f}", f"{ref[2]:.2f}", str(ref[3]), "1.00"])

    port = free_port()
    base = f"http://{HOST}:{port}"
    database = f"sqlite:///{workdir / 'parley.db'}"
    # Every chat of the load comes from this one address: the per-address chat-request limit is off.
    server = Process([sys.executable, "-m", "parley", "serve", "--demo", "--host", HOST, "--port", str(port),
                      "--database", database, "--chat-request-limit", "off"], workdir / "parley.log",
                     base + "/health").start()
    helper = None
    try:
        parley("agent", "create", "--database", database, "--account", ACCOUNT, "--login", HELPER_LOGIN,
               "--password", HELPER_LOGIN, "--skills", "Sales", "--max-chats", "-1")
        time.sleep(1.5)  # the server picks CLI changes up within a second (--sweep-interval)
        # A bot listens on nothing: its "health" is the server's, so start() only checks it did not exit.
        helper = Process([sys.executable, "-m", "parley", "bot", "--url", base, "--login", HELPER_LOGIN,
                          "--password", HELPER_LOGIN], workdir / "helper-bot.log", base + "/health").start()
        chats = open_chats(base, args.chats)
        # The demo bot runs in the server's process group; its memory is not the server's.
        before = server.rss_mb(skip="bot")
        polls = load.run(base, [f"{path}/events.json?{QUERY}&from={nxt}" for path, nxt in chats])
        full = load.run(base, [f"{path}.json?{QUERY}" for path, _ in chats])
        after = server.rss_mb(skip="bot")
        memory.append(f"parley RSS (the server process, bots excluded): before load {before:.1f} MB,"
                      f" after {after:.1f} MB, {args.chats} open chats")
    finally:
        if helper is not None:
            helper.stop()
        server.stop()
    for name, result in [("events.json?from=next (nothing new)", polls), ("chat.json (full chat resource)", full)]:
        rows.append([name, f"{result[0]:,.0f}", f"{result[1]:.2f}", f"{result[2]:.2f}", str(result[3]),
                     f"{result[0] / ref[0]:.2f}"])

    print(f"command: python bench/polls.py {shlex.join(sys.argv[1:])}".rstrip())
    print(f"load tool: {load.tool}" + (f" -t{args.threads}" if load.tool == "wrk" else "")
          + f", {args.connections} connections, {args.seconds} s per row, URLs rotated over {args.chats} chats")
    print_table(["row", "requests/s", "mean ms", "p99 ms", "errors", "ratio"], rows)
    for line in memory:
        print(line)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
