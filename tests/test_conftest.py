"""The session check in tests/conftest.py finds the processes a run leaves behind and fails it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

from tests.conftest import MARKER, leftover_processes

ROOT = Path(__file__).resolve().parent.parent
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def detached(env: dict[str, str]) -> psutil.Process:
    """A process in a new session whose parent is already gone: not among our descendants."""
    spawner = subprocess.run(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; p = subprocess.Popen(sys.argv[1:], start_new_session=True,"
            " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
            " print(p.pid)",
            *SLEEPER,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    proc = psutil.Process(int(spawner.stdout))
    assert proc.pid not in {p.pid for p in psutil.Process().children(recursive=True)}
    return proc


def test_finds_a_child_and_a_detached_process_carrying_the_marker():
    child = subprocess.Popen(SLEEPER)
    orphan = detached(dict(os.environ))  # only the inherited marker ties it to this run
    try:
        found = {proc.pid for proc in leftover_processes()}
        assert {child.pid, orphan.pid} <= found
    finally:
        child.kill()
        child.wait()
        orphan.kill()
        psutil.wait_procs([orphan], timeout=5)
    found = {proc.pid for proc in leftover_processes()}
    assert child.pid not in found and orphan.pid not in found


def test_a_detached_process_of_another_run_is_not_ours():
    other = detached({**os.environ, MARKER: "1"})
    try:
        assert other.pid not in {p.pid for p in leftover_processes()}
        assert other.pid in {p.pid for p in leftover_processes(run="1")}
    finally:
        other.kill()
        psutil.wait_procs([other], timeout=5)


def test_a_run_that_leaves_a_process_behind_fails_and_the_process_is_ended(tmp_path):
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(f"""
        import subprocess, sys

        def test_forgets_its_server():
            proc = subprocess.Popen({SLEEPER!r}, start_new_session=True)
            print("LEAKED", proc.pid)
    """)
    )
    # The inner run loads this suite's conftest as a plugin, as the real suite does.
    inner = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-s",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_leaky.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = inner.stdout + inner.stderr
    assert inner.returncode == 1, output
    assert "1 passed" in output and "left-behind processes" in output, output
    leaked = int(re.search(r"LEAKED (\d+)", output).group(1))
    assert f"pid {leaked}" in output, output
    assert not psutil.pid_exists(leaked) or psutil.Process(leaked).status() == psutil.STATUS_ZOMBIE


def test_a_clean_run_passes(tmp_path):
    (tmp_path / "test_tidy.py").write_text(
        textwrap.dedent(f"""
        import subprocess

        def test_stops_what_it_starts():
            proc = subprocess.Popen({SLEEPER!r})
            proc.kill()
            proc.wait()
    """)
    )
    inner = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_tidy.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert inner.returncode == 0, inner.stdout + inner.stderr
    assert "left-behind" not in inner.stdout
