"""Held long-polls never lock the server out (issue 12): thousands held at once leave plain
requests answered, a reserve of connections stays for them, and a held poll whose client left is
released at once rather than when its wait runs out.

The polls are raw asyncio sockets (one connection each, as thousands of browsers would open).
The client deadlines below (20 s) are far under the polls' wait (50 s): reaching one means the
server kept something held that it should have answered or released."""

from __future__ import annotations

import asyncio
import resource

import httpx
import psutil

from tests.e2e.conftest import ACCOUNT, Server, q

WAIT = 50  # the most a poll may ask for: a poll answered before it was not left to hold
DEADLINE = 20


def raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def queued_chat(server: Server, http: httpx.Client) -> tuple[str, str]:
    """A chat waiting for an agent (none is logged in): (its URI, the path of a poll for what comes next)."""
    response = http.post(f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": {}})
    assert response.status_code == 201
    chat = response.headers["location"]
    links = http.get(f"{chat}/events.json?{q()}").json()["events"]["link"]
    following = [link["@href"] for link in links if link["@rel"] == "next"][0]
    path = chat.split(str(server.port), 1)[1]
    return chat, f"{path}/events.json?{q('from=' + following.split('from=')[1] + f'&wait={WAIT}')}"


def server_connections(server: Server) -> int:
    """Client connections the server process has accepted and not yet closed."""
    return sum(
        1
        for c in psutil.Process(server.process.pid).net_connections(kind="tcp")
        if c.laddr
        and c.laddr.port == server.port
        and c.raddr
        and c.status in (psutil.CONN_ESTABLISHED, psutil.CONN_CLOSE_WAIT)
    )


async def open_polls(server: Server, path: str, count: int):
    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        await writer.drain()
        return reader, writer

    async def all_of_them():
        polls = []
        for start in range(0, count, 250):
            polls += await asyncio.gather(*(one() for _ in range(start, min(count, start + 250))))
        return polls

    # Connecting ends once the kernel's listen queue took the socket; a full queue means the
    # server stopped accepting.
    return await asyncio.wait_for(all_of_them(), 3 * DEADLINE)


async def until_accepted(server: Server, count: int) -> None:
    """The server has taken ``count`` connections (fails at the deadline: they were left waiting)."""

    async def accepted():
        while server_connections(server) < count:
            await asyncio.sleep(0.1)

    await asyncio.wait_for(accepted(), DEADLINE)


async def answer_of(reader: asyncio.StreamReader, marker: bytes) -> bytes:
    """The response on one poll connection, read until ``marker`` or its end."""
    data = b""
    while marker not in data:
        chunk = await reader.read(65536)
        if not chunk:
            break
        data += chunk
    return data


async def answers(polls, marker: bytes) -> list[bytes]:
    return await asyncio.wait_for(asyncio.gather(*(answer_of(reader, marker) for reader, _ in polls)), DEADLINE)


def close(polls) -> None:
    for _, writer in polls:
        writer.close()


def served(database, *args: str) -> Server:
    return Server(database, "--no-agent-policy", "queue", "--chat-request-limit", "off", *args).start()


def test_two_thousand_held_polls_leave_a_plain_request_answered(database):
    """More than granian's default backpressure (128 embedded, 1,024 in its CLI) held at once."""
    count = 2000
    raise_open_files(count + 200)
    server = served(database)
    try:
        with httpx.Client(timeout=DEADLINE) as http:
            chat, path = queued_chat(server, http)

        async def scenario():
            polls = await open_polls(server, path, count)
            try:
                await until_accepted(server, count)
                async with httpx.AsyncClient(timeout=DEADLINE) as fresh:  # a new connection, as a new visitor's
                    assert (await fresh.get(f"{server.url}/health")).status_code == 200
                    other = await fresh.post(
                        f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}", json={"request": {}}
                    )
                    assert other.status_code == 201
                    posted = await fresh.post(
                        f"{chat}/events.json?{q()}", json={"event": {"@type": "line", "text": "to all two thousand"}}
                    )
                    assert posted.status_code == 201
                replies = await answers(polls, b"to all two thousand")
            finally:
                close(polls)
            # Every poll was held until the line came: each answers 200 with it.
            assert all(reply.startswith(b"HTTP/1.1 200") and b"to all two thousand" in reply for reply in replies)
            assert len(replies) == count

        asyncio.run(scenario())
    finally:
        server.stop()


def test_held_polls_leave_a_reserve_and_are_released_when_their_clients_leave(database):
    # 40 connections: 32 may hold (a reserve of 8); the test's own httpx client keeps one open.
    server = served(database, "--max-connections", "40")
    try:
        with httpx.Client(timeout=DEADLINE) as http:
            chat, path = queued_chat(server, http)

            async def scenario():
                polls = await open_polls(server, path, 32)
                await until_accepted(server, 32 + 1)
                assert http.get(f"{server.url}/health").status_code == 200
                # Past the held share, a long-poll answers at once, as a plain poll (no events yet).
                over = await open_polls(server, path, 1)
                reply = (await answers(over, b"}}"))[0]
                assert reply.startswith(b"HTTP/1.1 200") and b'"event"' not in reply
                close(over)
                # The clients leave: the server closes their connections now, not in 50 s.
                close(polls)
                await until_accepted_at_most(server, 1)
                # ...and their held share is free again: 32 new polls are held until news comes.
                again = await open_polls(server, path, 32)
                try:
                    await until_accepted(server, 32 + 1)
                    assert (
                        http.post(
                            f"{chat}/events.json?{q()}", json={"event": {"@type": "line", "text": "after they left"}}
                        ).status_code
                        == 201
                    )
                    replies = await answers(again, b"after they left")
                finally:
                    close(again)
                assert all(reply.startswith(b"HTTP/1.1 200") and b"after they left" in reply for reply in replies)

            asyncio.run(scenario())
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


async def until_accepted_at_most(server: Server, count: int) -> None:
    async def released():
        while server_connections(server) > count:
            await asyncio.sleep(0.1)

    await asyncio.wait_for(released(), DEADLINE)


def test_event_streams_share_the_held_connections_and_are_released_when_their_clients_leave(database):
    server = served(database, "--max-connections", "20")  # 12 may hold (a reserve of 8)
    try:
        with httpx.Client(timeout=DEADLINE) as http:
            chat, _ = queued_chat(server, http)
            path = chat.split(str(server.port), 1)[1] + f"/events?{q()}"

            async def streams(count: int, until: bytes = b"retry: 2000"):
                async def one():
                    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                    writer.write(
                        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                        "Accept: text/event-stream\r\n\r\n".encode()
                    )
                    await writer.drain()
                    return reader, writer

                opened = [await one() for _ in range(count)]
                return opened, await answers(opened, until)  # by default: until each is streaming

            async def scenario():
                held, _ = await streams(12)
                # Past the held share, a stream sends what is there and ends (its last chunk).
                over, (ending,) = await streams(1, until=b"\r\n0\r\n\r\n")
                assert ending.endswith(b"\r\n0\r\n\r\n") and b"data: " in ending
                close(over)
                close(held)
                await until_accepted_at_most(server, 1)  # closed by the server now, not at a heartbeat
                again, _ = await streams(12)
                try:
                    assert (
                        http.post(
                            f"{chat}/events.json?{q()}", json={"event": {"@type": "line", "text": "streamed"}}
                        ).status_code
                        == 201
                    )
                    replies = await answers(again, b"streamed")
                finally:
                    close(again)
                assert all(b"streamed" in reply for reply in replies)

            asyncio.run(scenario())
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()
