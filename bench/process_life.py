"""Process life of ``parley serve --demo``: memory, SIGTERM with a held long-poll, SIGKILL.

    python bench/process_life.py [--hold 40]

Prints, for one server on a temporary database and a free loopback port:
- the RSS of every process of the server (the demo bot listed apart), summed;
- seconds from SIGTERM (to the main process only, as ``kill PID`` sends it) to its exit while a
  visitor long-poll ``wait=<hold>`` is held, the poll's answer and the exit code;
- after SIGKILL of a second server: whether the port is free and which processes are left.
Every process the script starts carries PARLEY_BENCH_RUN=<pid> and is killed at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
from harness import HOST, free_port

MARK = "PARLEY_BENCH_RUN"
ACCOUNT, KEY = "12345", "721c180b09eb463d9f3191c41762bb68"


def ours() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get(MARK) == str(os.getpid()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def start(database: Path, port: int, log: Path) -> subprocess.Popen:
    command = [
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
        f"sqlite:///{database}",
    ]
    print("$", " ".join(command))
    popen = subprocess.Popen(
        command,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, MARK: str(os.getpid()), "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://{HOST}:{port}/api/account/{ACCOUNT}/chat/availability.json?v=1&appKey={KEY}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the bot is online: every process is up
        try:
            if httpx.get(url, timeout=1).json() == {"availability": True}:
                return popen
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    sys.exit(f"server did not come up; log {log}")


def describe(procs: list[psutil.Process]) -> list[str]:
    out = []
    for proc in procs:
        try:
            out.append(f"{proc.pid} {' '.join(proc.cmdline()[1:5])}")
        except psutil.Error:
            continue
    return out


def rss_table(server: subprocess.Popen) -> None:
    total = 0.0
    for proc in ours():
        try:
            rss = proc.memory_info().rss / 2**20
            line = " ".join(proc.cmdline()[1:4])
        except psutil.Error:
            continue
        is_bot = " bot" in f" {line}"
        role = "demo bot" if is_bot else ("main" if proc.pid == server.pid else "worker")
        total += 0 if is_bot else rss
        print(f"  {role:8} pid {proc.pid:7}  RSS {rss:6.1f} MB  ({line})")
    print(f"  server RSS (bot excluded): {total:.1f} MB")


def held_poll(base: str, hold: int, result: dict) -> None:
    chat = httpx.post(f"{base}/chat/request.json?v=1&appKey={KEY}", json={"request": {"skill": "Sales"}}).headers[
        "location"
    ]
    time.sleep(1.5)  # the bot accepts and greets
    events = httpx.get(f"{chat}/events.json?v=1&appKey={KEY}").json()["events"]["event"]
    after = int((events[-1] if isinstance(events, list) else events)["@id"]) + 1
    result["held"] = time.monotonic()
    try:
        answer = httpx.get(f"{chat}/events.json?v=1&appKey={KEY}&from={after}&wait={hold}", timeout=hold + 10)
        result["answer"] = f"{answer.status_code} {answer.text[:60]}"
    except httpx.HTTPError as exc:
        result["answer"] = f"no answer: {type(exc).__name__}"
    result["answered"] = time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        port = free_port()
        server = start(tmp_path / "a.db", port, tmp_path / "a.log")
        try:
            print("processes and memory of `parley serve --demo` (idle):")
            rss_table(server)
            result: dict = {}
            poller = threading.Thread(
                target=held_poll, args=(f"http://{HOST}:{port}/api/account/{ACCOUNT}", args.hold, result)
            )
            poller.start()
            while "held" not in result and poller.is_alive():
                time.sleep(0.05)
            time.sleep(1.0)  # the poll is held on the server now
            sent = time.monotonic()
            os.kill(server.pid, signal.SIGTERM)
            code = server.wait(timeout=args.hold + 30)
            exited = time.monotonic()
            poller.join()
            print(
                f"SIGTERM with a wait={args.hold} poll held: exit code {code} after {exited - sent:.2f} s;"
                f" the poll answered after {result['answered'] - sent:.2f} s: {result['answer']}"
            )
            time.sleep(0.5)
            print(f"  left after SIGTERM: {describe(ours()) or 'nothing'}")

            server = start(tmp_path / "b.db", port, tmp_path / "b.log")
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            time.sleep(0.5)
            try:
                httpx.get(f"http://{HOST}:{port}/health", timeout=2)
                port_state = "still answering"
            except httpx.HTTPError:
                port_state = "free"
            print(f"SIGKILL: port {port_state}; left: {describe(ours()) or 'nothing'}")
        finally:
            for proc in ours():
                proc.kill()
            if server.poll() is None:
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
