"""Process life of ``parley serve --demo`` (issue 8, finding 8): whatever signal ends the server,
its port, its database lock and its demo bot go with it; SIGTERM and SIGINT answer held
requests at once and exit 0."""

from __future__ import annotations

import signal
import socket
import threading
import time

import httpx
import psutil
import pytest

from tests.e2e.conftest import ACCOUNT, Server, q
from tests.e2e.test_agent_api import Agent

# Generous bounds on a stop that must not wait for any held request (the holds are 40 s).
EXIT_BOUND = 10


def demo_server(database) -> Server:
    server = Server(database, "--demo").start()
    url = f"{server.url}/api/account/{ACCOUNT}/chat/availability.json?{q('skill=Sales')}"
    deadline = time.monotonic() + 30
    while httpx.get(url).json() != {"availability": True}:  # the demo bot is online
        assert time.monotonic() < deadline, server.log.read_text()[-3000:]
        time.sleep(0.2)
    return server


def demo_bot(server: Server) -> psutil.Process:
    bots = [p for p in psutil.Process(server.process.pid).children() if "bot" in p.cmdline()]
    assert len(bots) == 1
    return bots[0]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "in use"
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def greeted_chat(server: Server, http: httpx.Client) -> tuple[str, int]:
    """A chat the demo bot accepted and greeted: (visitor URI, the next event id)."""
    created = http.post(
        f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": {"skill": "Sales"}}
    )
    assert created.status_code == 201
    chat = created.headers["location"]
    deadline = time.monotonic() + 20
    while True:
        events = http.get(f"{chat}/events.json?{q('from=0')}").json()["events"].get("event", [])
        events = events if isinstance(events, list) else [events]
        if any(e["@type"] == "line" and e.get("source") == "agent" for e in events):
            return chat, int(events[-1]["@id"]) + 1
        assert time.monotonic() < deadline, f"the bot never greeted: {events}"
        time.sleep(0.2)


def in_thread(action) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = action()
        except Exception as exc:  # reported by the test's assertion on the result
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_sigkill_frees_port_and_database_and_ends_the_bot(database, http):
    server = demo_server(database)
    try:
        bot = demo_bot(server)
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
        # The process was the listener: its port is free the moment it is reaped.
        assert port_is_free(server.port)
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/health")
        # The bot reads the end of its stdin pipe, which the kernel closed with the server.
        bot.wait(timeout=EXIT_BOUND)
        # The database lock went with the process: the same database and port serve again at once.
        server = demo_server(database)
        chat, _ = greeted_chat(server, http)  # and the new demo bot answers
        assert http.get(f"{chat}/info.json?{q()}").json()["info"]["state"] == "chatting"
    finally:
        server.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_answers_held_requests_at_once_and_exits_0(database, http, sig):
    server = demo_server(database)
    try:
        bot = demo_bot(server)
        chat, after = greeted_chat(server, http)
        bob = Agent(server, http, "bob", "bob-secret")
        with httpx.Client(timeout=60) as held:
            poll, polled = in_thread(lambda: held.get(f"{chat}/events.json?{q(f'from={after}&wait=40')}"))
            rings, rang = in_thread(
                lambda: held.get(f"{bob.session}/incomingRequests.json", params={"wait": 40}, headers=bob.auth)
            )

            def stream() -> list[str]:
                with httpx.stream(
                    "GET", f"{chat}/events?{q(f'from={after}')}", timeout=60, headers={"Accept": "text/event-stream"}
                ) as response:
                    return list(response.iter_lines())

            sse, streamed = in_thread(stream)
            time.sleep(1.5)  # all three are held on the server now
            assert poll.is_alive() and rings.is_alive() and sse.is_alive()
            server.process.send_signal(sig)
            assert server.process.wait(timeout=EXIT_BOUND) == 0
            for thread in (poll, rings, sse):
                thread.join(timeout=EXIT_BOUND)
        # Each held request got its normal answer: nothing new since `after`.
        answer = polled["value"]
        assert answer.status_code == 200, polled
        assert "event" not in answer.json()["events"]
        assert rang["value"].status_code == 200
        assert rang["value"].json()["incomingRequests"]["ringingCount"] == "0"
        assert streamed["value"][0] == "retry: 2000"  # the stream ended (clients resume with Last-Event-ID)
        bot.wait(timeout=EXIT_BOUND)
        # The database was closed cleanly: the last connection checkpointed and removed the WAL.
        assert not database.with_name(database.name + "-wal").exists()
        server.start()
        assert http.get(f"{chat}/info.json?{q()}").json()["info"]["state"] == "chatting"
    finally:
        server.stop()
