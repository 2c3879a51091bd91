"""Every speed and memory benchmark in one command, one table: measure | parley | reference | ratio |
goal | met?, with the machine and the command.

    python bench/all.py [--quick] [--skip polls,scaleout,routing,held,start]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

Each script measures its rows beside its reference in interleaved rounds (see bench/README.md);
this runs them one after the other through their ``measure`` functions and gathers the rows. The
scale-out rows (PostgreSQL + Redis, 1, 2 and 4 workers) run when both answer. Exits 1 when any
answer was wrong or a stored-line count did not match (the rates would compare different work).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import held_polls  # noqa: E402
import polls  # noqa: E402
import routing  # noqa: E402
import scaleout  # noqa: E402
import start_time  # noqa: E402
from measures import Goal, Measure, markdown  # noqa: E402

from tests import postgres  # noqa: E402

STEPS = ("polls", "scaleout", "routing", "held", "start")
# Live Helper Chat 4.90 (PHP 8.2-fpm + nginx + MariaDB) is not installed here. Issue 12 measured it
# beside the same bare ASGI app (wrk, 50 connections, 2 cores): fetchmessages 621/s, addmsguser
# 513/s, the bare app 33,644/s. Its rate here is estimated as that share of this run's bare app, so
# that a slower or busier machine than issue 12's slows the estimate alike (a PHP worker pool and a
# Python event loop need not slow alike: the rows say "estimated").
LHC_FETCHMESSAGES_SHARE = 621 / 33_644
LHC_ADDMSGUSER_SHARE = 513 / 33_644

# (quick, full) arguments per script; the full run is what issue 12's table describes.
ARGUMENTS = {
    "polls": (["--seconds", "3", "--rounds", "2"], ["--seconds", "10", "--rounds", "3"]),
    "scaleout": (["--seconds", "3", "--rounds", "2"], ["--seconds", "10", "--rounds", "3"]),
    "routing": (["--seconds", "3", "--rounds", "2"], ["--seconds", "10", "--rounds", "3"]),
    # Opening 10,000 chats takes minutes on a busy 2-core machine: the quick run holds 2,000.
    "held": (["--chats", "2000"], ["--chats", "10000"]),
    "start": (["--chats", "100000", "--rounds", "3"], ["--chats", "1000000", "--rounds", "5"]),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds, 100,000 ended chats: a few minutes")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to leave out, of {', '.join(STEPS)}")
    parser.add_argument("--postgres", default=postgres.ADMIN_URL, help="PostgreSQL for the scale-out rows")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis for the scale-out rows")
    args = parser.parse_args(argv)
    args.skip = {step for step in args.skip.split(",") if step}
    if args.skip - set(STEPS):
        parser.error(f"unknown steps {sorted(args.skip - set(STEPS))}; choose from {', '.join(STEPS)}")
    return args


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    kib = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return f"{os.cpu_count()} cores, {model}, {kib / 2**20:.1f} GiB memory, {platform.system()} {platform.release()}"


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def answers(url: str, probe: bytes = b"", expect: bytes = b"") -> bool:
    """The server at ``url`` accepts a connection (and answers ``probe`` with ``expect``)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2) as sock:
            if probe:
                sock.sendall(probe)
                return sock.recv(64).startswith(expect)
            return True
    except OSError:
        return False


def scale_out_available(args: argparse.Namespace) -> str:
    """'' when PostgreSQL and Redis both answer, else why not."""
    if not answers(args.redis, b"PING\r\n", b"+PONG"):
        return f"Redis does not answer at {args.redis}"
    try:
        postgres.run_sync(postgres.execute(args.postgres, "SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means: no scale-out rows
        return f"PostgreSQL does not answer at {args.postgres}: {error}"
    return ""


def poll_measures(args: argparse.Namespace) -> list[Measure]:
    rows, _memory, _load, workdir = polls.measure(args)
    # By name, not position: polls.py may gain rows (another branch adds a lines row).
    reference = rows[0]
    idle = next(row for row in rows if row.name.startswith("events.json"))
    full = next(row for row in rows if row.name.startswith("chat.json"))
    bare = [r.rate for r in reference.results]

    def wrong(row) -> int:
        return sum(r.wrong + r.socket_errors for r in row.results)

    idle_rates = [r.rate for r in idle.results]
    measures = [
        Measure(
            "bare ASGI app on granian (the reference of the rows below it)",
            bare,
            cpu_ms=[r.cpu_ms for r in reference.results],
            wrong=wrong(reference),
        ),
        Measure(
            f"idle poll `events.json?from=next`, {args.chats} chats",
            idle_rates,
            reference_name="bare app",
            reference=bare,
            goal=Goal("≥ 0.60", at_least=0.60),
            cpu_ms=[r.cpu_ms for r in idle.results],
            wrong=wrong(idle),
        ),
        Measure(
            "idle poll vs Live Helper Chat `fetchmessages`",
            idle_rates,
            reference_name="LHC",
            reference=[rate * LHC_FETCHMESSAGES_SHARE for rate in bare],
            estimated=True,
            goal=Goal("≥ ×30", at_least=30),
            ratio_fmt=".1f",
            ratio_prefix="×",
        ),
        Measure(
            "full chat resource `chat.json`",
            [r.rate for r in full.results],
            reference_name="bare app",
            reference=bare,
            cpu_ms=[r.cpu_ms for r in full.results],
            wrong=wrong(full),
        ),
    ]
    shutil.rmtree(workdir, ignore_errors=True)
    return measures


def scaleout_measures(args: argparse.Namespace) -> list[Measure]:
    measured = scaleout.measure(args)
    for name, errors in measured.log_errors.items():
        show_log_errors(f"scaleout.py {name}", errors)
    bare = [r.rate for r in measured.reference.results]
    by_name = {backend.name: backend for backend in measured.backends}
    measures = [
        Measure(
            "bare ASGI app on granian (reference of the lines and scale-out rows)",
            bare,
            cpu_ms=[r.cpu_ms for r in measured.reference.results],
            wrong=sum(r.wrong + r.socket_errors for r in measured.reference.results),
        )
    ]
    for backend in measured.backends:
        for kind, label in (("polls", "idle poll"), ("lines", "durable line (201 after commit)")):
            row = getattr(backend, kind)
            rates = [r.rate for r in row.results]
            wrong = sum(r.wrong + r.socket_errors for r in row.results)
            if kind == "lines":
                wrong += scaleout.mismatched_rounds(backend, args.connections)
            plural = "s" if backend.workers > 1 else ""
            where = "SQLite" if not backend.workers else f"PostgreSQL + Redis, {backend.workers} worker{plural}"
            measure = Measure(
                f"{label}, {where}",
                rates,
                reference_name="bare app",
                reference=bare,
                cpu_ms=[r.cpu_ms for r in row.results],
                wrong=wrong,
            )
            if backend.name == "sqlite" and kind == "lines":
                measure.goal = Goal("≥ 0.25", at_least=0.25)
                measures.append(measure)
                measures.append(
                    Measure(
                        "durable lines vs Live Helper Chat `addmsguser`",
                        rates,
                        reference_name="LHC",
                        reference=[rate * LHC_ADDMSGUSER_SHARE for rate in bare],
                        estimated=True,
                        goal=Goal("≥ ×25", at_least=25),
                        ratio_fmt=".1f",
                        ratio_prefix="×",
                    )
                )
                continue
            if backend.workers > 1 and "pg1" in by_name:
                # Scale-out: the same row with one worker is the reference (issue 12 item 5).
                measure.reference_name = "1 worker"
                measure.reference = [r.rate for r in getattr(by_name["pg1"], kind).results]
            measures.append(measure)
    return measures


def routing_measures(args: argparse.Namespace) -> tuple[list[Measure], str]:
    result = routing.measure(args)
    show_log_errors("routing.py", result.log_errors)
    rounds = result.rounds
    reference = [r.rate("reference", ("reference",)) for r in rounds]
    everything = routing.KINDS[1:]
    counts = [sum(len(r.routing.latencies[k]) for k in routing.KINDS) for r in rounds]
    measures = [
        Measure(
            f"routing: every request of the chat cycles ({args.agents} agents, {args.visitors} visitors)",
            [r.rate("routing", everything) for r in rounds],
            reference_name="`availability.json`",
            reference=reference,
            cpu_ms=[1000 * r.server_cpu["routing"] / max(n, 1) for r, n in zip(rounds, counts, strict=True)],
            wrong=sum(sum(r.routing.wrong.values()) + r.routing.unaccepted for r in rounds)
            + sum(sum(r.reference.wrong.values()) for r in rounds),
        ),
        Measure(
            "routing: chats requested, accepted, seen by the visitor, ended",
            [r.chats for r in rounds],
            fmt=",.1f",
        ),
        Measure(
            "routing: request -> visitor sees chatting, p95",
            [_p95(r.routing.delays) * 1000 for r in rounds],
            fmt=",.1f",
            unit=" ms",
        ),
    ]
    return measures, routing.saturation(result)


def held_measures(args: argparse.Namespace) -> tuple[list[Measure], str]:
    held = held_polls.measure(args)
    show_log_errors("held_polls.py", held.log_errors)
    measures = [
        Measure(
            f"{args.chats:,} chats each holding a long-poll: held",
            [held.held],
            unit="",
            goal=Goal(f"all {args.chats:,}", at_least=args.chats, on_value=True),
        ),
        Measure(
            f"server RSS with {args.chats:,} polls held (first, second hold)",
            [held.held_rss, held.again_rss],
            unit=" MB",
            reference_name="idle, same open chats",
            reference=[held.idle],
            # Issue 12's bound is for 10,000 held polls; other counts show the numbers without a goal.
            goal=Goal("≤ 400 MB", at_most=400, on_value=True) if args.chats == 10_000 else None,
        ),
    ]
    note = (
        f"held polls: {held.held} of {held.chats} held, {held.answered_early} answered early;"
        f" fresh requests while held: {held.held_fresh[0]} of 2 answered (slowest {held.held_fresh[1]:.3f} s);"
        f" after the clients left: {held.left} connections left, RSS {held.after_rss:.0f} MB;"
        f" {(held.held_rss - held.idle) * 1024 / held.chats:.1f} KiB per held poll;"
        f" server log: {len(held.log_errors)} error lines"
    )
    return measures, note


def start_measures(args: argparse.Namespace) -> list[Measure]:
    times = start_time.measure(args)
    return [
        Measure(
            f"start time, {args.chats:,} stored ended chats",
            times["history"],
            fmt=".2f",
            unit=" s",
            reference_name="empty store",
            reference=times["empty"],
            goal=Goal("≤ 1.2", at_most=1.2),
        )
    ]


def show_log_errors(where: str, lines: list[str]) -> None:
    if lines:
        print(f"{where}: the server logged {len(lines)} error lines:", *lines[-20:], sep="\n  ", file=sys.stderr)


def _p95(values: list[float]) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)]


def main() -> int:
    args = parse_args()
    quick = 0 if args.quick else 1
    command = f"python bench/all.py {shlex.join(sys.argv[1:])}".rstrip()
    began, load_before = time.monotonic(), load_average()
    measures: list[Measure] = []
    notes: list[str] = []

    def step(name: str, what: str) -> bool:
        if name in args.skip:
            notes.append(f"{what}: skipped (--skip)")
            return False
        print(f"== {what}: {shlex.join(ARGUMENTS[name][quick])}", file=sys.stderr, flush=True)
        return True

    if step("polls", "bench/polls.py"):
        measures += poll_measures(polls.parse_args(ARGUMENTS["polls"][quick]))
    if step("scaleout", "bench/scaleout.py"):
        why_not = scale_out_available(args)
        backends = "sqlite" if why_not else "sqlite,pg1,pg2,pg4"
        if why_not:
            notes.append(f"scale-out rows left out: {why_not}")
        measures += scaleout_measures(
            scaleout.parse_args(
                ARGUMENTS["scaleout"][quick]
                + ["--backends", backends, "--postgres", args.postgres, "--redis", args.redis]
            )
        )
    if step("routing", "bench/routing.py"):
        rows, saturation = routing_measures(routing.parse_args(ARGUMENTS["routing"][quick]))
        measures += rows
        notes.append(f"routing, which side saturates: {saturation}")
    if step("held", "bench/held_polls.py"):
        rows, note = held_measures(held_polls.parse_args(ARGUMENTS["held"][quick]))
        measures += rows
        notes.append(note)
    if step("start", "bench/start_time.py"):
        measures += start_measures(start_time.parse_args(ARGUMENTS["start"][quick]))

    minutes = (time.monotonic() - began) / 60
    print()
    print(f"command: {command}")
    print(f"machine: {machine()}; load average {load_before} at the start, {load_average()} at the end")
    print(f"took {minutes:.1f} min; values are the median (min-max) over each script's interleaved rounds")
    print()
    print(markdown(measures))
    print()
    for note in notes:
        print(f"- {note}")
    print(
        "- LHC ≈: Live Helper Chat is not run here; its rate is estimated as its share of the bare app in"
        f" issue 12's run ({LHC_FETCHMESSAGES_SHARE:.4f} for fetchmessages, {LHC_ADDMSGUSER_SHARE:.4f} for"
        " addmsguser) times this run's bare app"
    )
    print(
        "- not measured by bench/: the wake-up p99 ÷ idle-poll p99 with 1,000 held chats (issue 12: 1.3, goal ≤ 3, met)"
    )
    wrong = sum(m.wrong for m in measures)
    if wrong:
        print(f"{wrong} answers were wrong or stored lines mismatched: the rates are not comparable", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
