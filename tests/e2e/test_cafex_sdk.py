"""A real third-party visitor client, the npm package @cafex/liveassist-botsdk-js,
holds a whole chat with `parley serve --demo`, whose demo bot answers as the agent.

Self-contained on purpose: it starts its own server process and needs node + npm.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import database_url

CAFEX = Path(__file__).parent / "cafex"
ACCOUNT = "12345"
APPKEY = "721c180b09eb463d9f3191c41762bb68"
# Never route loopback requests through a proxy from the environment.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parley_command() -> list[str]:
    # This interpreter's parley, the code under test (a `parley` on PATH may be another install).
    return [sys.executable, "-m", "parley"]


def install_sdk() -> None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed; this end-to-end check needs it")
    if not (CAFEX / "node_modules" / "@cafex" / "liveassist-botsdk-js").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CAFEX, check=True, timeout=300)


def wait_until_bot_online(server: subprocess.Popen, port: int, log: Path) -> None:
    url = f"http://127.0.0.1:{port}/api/account/{ACCOUNT}/chat/availability.json?v=1&appKey={APPKEY}"
    last: object = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"parley exited with {server.returncode}:\n{log.read_text()}")
        try:
            with NO_PROXY.open(url, timeout=2) as answer:
                last = answer.read()
            if json.loads(last) == {"availability": True}:
                return
        except (OSError, ValueError) as e:
            last = e
        time.sleep(0.25)
    pytest.fail(f"the demo bot never came online; last answer {last!r}\n{log.read_text()}")


def test_cafex_bot_sdk_chats_with_demo_bot(tmp_path: Path) -> None:
    install_sdk()
    port = free_port()
    log = tmp_path / "parley.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                *parley_command(),
                "serve",
                "--demo",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database",
                database_url(tmp_path / "p.db"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_until_bot_online(server, port, log)
        env = {
            **os.environ,
            "PARLEY_PORT": str(port),
            "PARLEY_ACCOUNT": ACCOUNT,
            "PARLEY_APPKEY": APPKEY,
            "PARLEY_SKILL": "Sales",
        }
        drive = subprocess.run(
            ["node", "-r", "./loopback.js", "drive.js"], cwd=CAFEX, env=env, capture_output=True, text=True, timeout=90
        )
        report = f"stdout:\n{drive.stdout}\nstderr:\n{drive.stderr}\nparley log:\n{log.read_text()[-4000:]}"
        assert drive.returncode == 0, report
        assert "CAFEX-SDK OK:" in drive.stdout, report
        assert "states=waiting>chatting>ended" in drive.stdout, report
        assert "echoed=2/2" in drive.stdout, report
    finally:
        # The demo bot ends with the server (it watches its stdin pipe), whichever way it stops.
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode == 0, log.read_text()[-4000:]
