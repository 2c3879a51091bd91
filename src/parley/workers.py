"""``parley serve --workers N``: N server processes on one machine, one port, one PostgreSQL.

Each worker is a whole node of the cluster (``services/cluster.py``): the kernel spreads new
connections over them (granian binds the port with SO_REUSEPORT), one of them leads, the others
follow. This process only supervises: it starts the workers, starts again one that ends on its
own (a worker that lost the lead stops itself, and comes back as a follower), and on SIGTERM or
SIGINT stops them all and waits for them.

A worker reads its stdin until it closes: this process holds the other end, which the kernel
closes however this process ends (SIGKILL included), so no worker outlives its supervisor.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

log = logging.getLogger("parley.workers")

# Set in a worker's environment: it serves as one node and watches its stdin.
WORKER_ENV = "PARLEY_WORKER_OF"
# A worker that ends on its own is started again after this pause (not in a tight loop).
RESTART_SECONDS = 1.0
# How long stopping workers may take before they are killed (they drain within about a second).
STOP_SECONDS = 15.0


def is_worker() -> bool:
    return WORKER_ENV in os.environ


def supervise(count: int, argv: list[str]) -> int:
    """Run ``count`` workers of ``parley <argv>`` until a signal stops us; 0 after a clean stop."""
    stopping = False

    def stop(signum: int, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [_start(argv) for _ in range(count)]
    log.info("%d workers started (pids %s)", count, ", ".join(str(w.pid) for w in workers))
    while not stopping:
        time.sleep(0.2)
        for index, worker in enumerate(workers):
            if worker.poll() is not None and not stopping:
                log.warning("worker %d ended (exit %s); starting it again", worker.pid, worker.returncode)
                time.sleep(RESTART_SECONDS)
                workers[index] = _start(argv)
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for worker in workers:
        try:
            worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        if worker.stdin is not None:
            worker.stdin.close()
    log.info("workers stopped")
    return 0


def _start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "parley", *argv], stdin=subprocess.PIPE, env={**os.environ, WORKER_ENV: str(os.getpid())}
    )
