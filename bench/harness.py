"""What both benchmarks share: processes on free loopback ports, their memory, the table."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"  # loopback only: nothing here listens beyond this machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Process:
    """A server started in its own session, so that a stop reaches every process it started."""

    def __init__(self, command: list[str], log: Path, health: str) -> None:
        self.command, self.log, self.health = command, log, health
        self.popen: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> Process:
        self.popen = subprocess.Popen(
            self.command,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                sys.exit(f"{self.command[0]} exited early; its log:\n{self.log.read_text()[-3000:]}")
            try:
                httpx.get(self.health, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        sys.exit(f"{' '.join(self.command)} did not answer within {timeout} s; log: {self.log}")

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def rss_mb(self, skip: str = "") -> float:
        """VmRSS summed over the process group (parley: one process; the granian CLI: main + worker);
        ``skip`` drops helpers by cmdline."""
        total_kb = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) != self.popen.pid:
                    continue
                if skip and skip in (entry / "cmdline").read_bytes().split(b"\0"):
                    continue
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
            except (OSError, ProcessLookupError):
                continue  # a process that ended while we looked
        return total_kb / 1024


def parley(*args: str) -> str:
    """One ``parley`` CLI call (the administration commands work against a running server's database)."""
    done = subprocess.run([sys.executable, "-m", "parley", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        sys.exit(f"parley {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def print_table(headers: list[str], rows: list[list]) -> None:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
