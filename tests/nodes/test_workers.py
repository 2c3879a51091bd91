"""``parley serve --workers N``: N processes behind one port, one of them leading; a worker that
dies comes back; the supervisor takes every worker with it however it ends."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import psutil

from parley.client import AgentClient, VisitorClient
from tests.e2e.conftest import ACCOUNT, KEY, Server
from tests.nodes.conftest import REDIS, seed, wait_until


def roles(server: Server, tries: int = 60) -> dict[int, str]:
    """Which worker (pid) answered /ready, and as what: new connections spread over the workers."""
    seen = {}
    for _ in range(tries):
        with httpx.Client(timeout=5) as fresh:  # a new connection each time
            ready = fresh.get(server.url + "/ready.json").json()["ready"]
            seen[ready["pid"]] = ready["role"]
    return seen


def workers_of(server: Server) -> list[psutil.Process]:
    return psutil.Process(server.process.pid).children()


async def test_four_workers_share_one_port_and_a_chat(tmp_path, database_url):
    seed(database_url)
    server = Server(tmp_path / "w.db", "--workers", "4", "--redis", REDIS, store_url=database_url).start()
    try:
        wait_until(lambda: len(workers_of(server)) == 4, "four workers")
        wait_until(
            lambda: sorted(roles(server, 40).values()).count("leader") == 1 and len(roles(server, 40)) >= 2,
            "answers from several workers, one of them leading",
        )
        agent = AgentClient(server.url, ACCOUNT)
        visitor = VisitorClient(server.url, ACCOUNT, KEY)
        try:
            await agent.login("natalie", "natalie")
            await agent.start_session()
            await agent.set_availability("Online")
            await visitor.request_chat(skill="Sales")
            chat_uri = await agent.accept()
            await agent.send_line(chat_uri, "Hello from whichever worker")
            lines = []
            while "Hello from whichever worker" not in lines:
                lines += [e.get("text") for e in await visitor.poll(wait=5) if e["@type"] == "line"]
        finally:
            await visitor.close()
            await agent.close()

        leader_pid = next(pid for pid, role in roles(server).items() if role == "leader")
        psutil.Process(leader_pid).kill()
        wait_until(
            lambda: len(workers_of(server)) == 4 and leader_pid not in [p.pid for p in workers_of(server)],
            "the dead worker started again",
        )
        wait_until(lambda: "leader" in roles(server, 20).values(), "a new leader")
    finally:
        pids = [p.pid for p in workers_of(server)]
        assert server.stop() == 0
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]


def test_workers_end_with_a_killed_supervisor(tmp_path, database_url):
    seed(database_url)
    server = Server(tmp_path / "k.db", "--workers", "2", store_url=database_url).start()
    wait_until(lambda: len(workers_of(server)) == 2, "two workers")
    pids = [p.pid for p in workers_of(server)]
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    wait_until(
        lambda: not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids),
        "the workers to end with their supervisor",
    )


def test_the_embedded_store_refuses_workers(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--workers", "2", "--database", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--workers needs a store that many processes share" in result.stderr
    assert "Traceback" not in result.stderr
