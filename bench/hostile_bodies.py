"""/health latency while hostile bodies arrive, against /health alone on the same server.

Issue 8, finding 1: one XML body of 90,000 attributes held every request for 84 s. Clients
send the worst bodies over and over (each refused with 400) while one client times ``GET
/health`` back to back. Run: python bench/hostile_bodies.py [--seconds 10] [--attackers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson
from harness import HOST, Process, free_port, print_table

ACCOUNT = "12345"
KEY = "721c180b09eb463d9f3191c41762bb68"  # the demo app key `parley serve --demo` seeds
QUERY = f"v=1&NC=true&appKey={KEY}"
XML = {"Content-Type": "application/xml"}
JSON = {"Content-Type": "application/json"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="duration per row (default 10)")
    parser.add_argument("--attackers", type=int, default=4, help="clients sending hostile bodies (default 4)")
    return parser.parse_args()


def bodies() -> dict[str, tuple[bytes, dict]]:
    attributes = b"<event " + b" ".join(b'a%d="1"' % i for i in range(90_000)) + b"/>"
    return {
        "90,000 XML attributes (978 KB)": (attributes, XML),
        "200,000 XML elements (800 KB)": (b"<request>" + b"<e/>" * 200_000 + b"</request>", XML),
        "90,000 JSON keys (1 MB)": (orjson.dumps({"request": {f"k{i}": 1 for i in range(90_000)}}), JSON),
        # Well-formed and within every bound, but large: parsed in full, off the event loop.
        "one 1,000 KB JSON string (valid)": (orjson.dumps({"request": {"skill": "x" * 1_000_000}}), JSON),
    }


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def time_health(base: str, seconds: float) -> list[float]:
    """Back-to-back ``GET /health`` for ``seconds``; latencies in ms."""
    samples = []
    with httpx.Client(timeout=300) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            http.get(f"{base}/health").raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def attack(url: str, body: bytes, headers: dict, stop, results) -> None:
    """One attacker process (processes, so that the timing client shares no GIL with them)."""
    statuses: Counter = Counter()
    with httpx.Client(timeout=300) as http:
        while not stop.is_set():
            try:
                statuses[http.post(url, content=body, headers=headers).status_code] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
    results.put(statuses)


def under_attack(base: str, body: bytes, headers: dict, attackers: int, seconds: float) -> tuple[list[float], Counter]:
    """Health latencies while ``attackers`` clients post ``body`` to login and chat/request in turn."""
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    urls = [f"{base}/api/account/{ACCOUNT}/login", f"{base}/api/account/{ACCOUNT}/chat/request.json?{QUERY}"]
    processes = [
        multiprocessing.Process(target=attack, args=(urls[i % 2], body, headers, stop, results))
        for i in range(attackers)
    ]
    for process in processes:
        process.start()
    time.sleep(0.5)  # let every attacker have a body on the way
    statuses: Counter = Counter()
    try:
        samples = time_health(base, seconds)
    finally:
        stop.set()
        for _ in processes:
            statuses.update(results.get(timeout=300))
        for process in processes:
            process.join(timeout=60)
    return samples, statuses


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-hostile-"))
    port = free_port()
    base = f"http://{HOST}:{port}"
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
            f"sqlite:///{workdir / 'parley.db'}",
        ],
        workdir / "parley.log",
        base + "/health",
    ).start()
    rows = []
    try:
        time_health(base, 1)  # warm up
        alone = time_health(base, args.seconds)
        ref50, ref99 = statistics.median(alone), percentile(alone, 0.99)
        rows.append(["/health alone (reference)", len(alone), f"{ref50:.2f}", f"{ref99:.2f}", "-", "1.00", "1.00"])
        for name, (body, headers) in bodies().items():
            samples, statuses = under_attack(base, body, headers, args.attackers, args.seconds)
            p50, p99 = statistics.median(samples), percentile(samples, 0.99)
            answered = ", ".join(f"{n}x{status}" for status, n in sorted(statuses.items(), key=str))
            rows.append(
                [
                    f"/health during {name}",
                    len(samples),
                    f"{p50:.2f}",
                    f"{p99:.2f}",
                    answered,
                    f"{p50 / ref50:.2f}",
                    f"{p99 / ref99:.2f}",
                ]
            )
    finally:
        server.stop()
    print(f"command: python bench/hostile_bodies.py {shlex.join(sys.argv[1:])}".rstrip())
    print(
        f"{args.attackers} attackers alternating POST login / chat/request.json, {args.seconds:g} s per row;"
        " /health timed back to back by one client"
    )
    print_table(["row", "health requests", "p50 ms", "p99 ms", "hostile answers", "p50 ratio", "p99 ratio"], rows)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
