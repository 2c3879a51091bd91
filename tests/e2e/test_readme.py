"""The README's curl walk-through, run as written against a demo server."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import Server, database_url, q

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("## A conversation with curl", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def run(block: str, server: Server) -> str:
    script = "set -euo pipefail\n" + block.replace("127.0.0.1:8080", f"127.0.0.1:{server.port}")
    env = {**os.environ, "PARLEY_DATABASE": database_url(server.database)}
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_readme_walkthrough(tmp_path):
    visitor_block, agent_block = walkthrough_blocks()
    server = Server(tmp_path / "readme.db", "--demo").start()
    try:
        deadline = time.monotonic() + 30
        availability = f"{server.url}/api/account/12345/chat/availability.json?{q()}&skill=Sales"
        while httpx.get(availability).json() != {"availability": True} and time.monotonic() < deadline:
            time.sleep(0.2)  # the demo bot signs in a moment after the server starts
        out = run(visitor_block, server)
        assert '{"availability":true}' in out
        assert "Hi, I'm Natalie." in out and "You said: Hello, is anyone there?" in out
        out = run(agent_block, server)
        assert '"ringingCount":"1"' in out
        assert '"text":"My order is late"' in out and '"text":"Let me check that for you."' in out
        assert '"state":"ended"' in out
    finally:
        server.stop()
