"""Fixtures every kind of test shares, and the check that no test leaves a process behind."""

from __future__ import annotations

import contextlib
import os

import psutil
import pytest

from tests.mailbox import Mailbox

# Every process this test run starts inherits the marker (the tests pass ``os.environ`` on),
# also those that leave our process tree (a new session, a parent that died before them).
MARKER = "PYTEST_PARLEY_RUN"
os.environ[MARKER] = str(os.getpid())
# A process that is ending when the session ends gets this long before it counts as left behind.
GRACE_SECONDS = 3.0


def leftover_processes(run: str | None = None) -> list[psutil.Process]:
    """Live processes started by this run: our descendants and every process carrying the marker."""
    run = run or str(os.getpid())
    me = psutil.Process()
    found = {child.pid: child for child in me.children(recursive=True)}
    for proc in psutil.process_iter():
        if proc.pid == me.pid or proc.pid in found:
            continue
        try:
            if proc.environ().get(MARKER) == run:
                found[proc.pid] = proc
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    alive = []
    for proc in found.values():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def describe(proc: psutil.Process) -> str:
    try:
        return f"pid {proc.pid}: {' '.join(proc.cmdline())[:200]}"
    except psutil.Error:
        return f"pid {proc.pid}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a process started by it is still alive; then end those processes."""
    _, alive = psutil.wait_procs(leftover_processes(), timeout=GRACE_SECONDS)
    if not alive:
        return
    lines = "\n".join(f"  {describe(proc)}" for proc in alive)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"processes started by this test run were still alive at its end (now killed):\n{lines}"
    if reporter is not None:
        reporter.write_sep("=", "left-behind processes", red=True)
        reporter.write_line(message)
    else:
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def mailbox():
    """A real SMTP server on a loopback port that keeps what it receives."""
    box = Mailbox()
    yield box
    box.stop()
