"""The node link over real loopback sockets: requests arrive whole, answers stream back, a client
that leaves releases the leader's request, a wrong secret is refused."""

from __future__ import annotations

import asyncio

import pytest

from parley.http.relay import LinkError, RelayClient, RelayServer

SECRET = "s3cret-of-this-term"


class Recorder:
    """An ASGI app that answers by path, and remembers what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict, bytes]] = []
        self.disconnected = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        message = await receive()
        self.seen.append((scope, message["body"]))
        if scope["path"] == "/fails":  # an error answered by the error handler, then re-raised (Starlette)
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"error body", "more_body": False})
            raise RuntimeError("re-raised for the server to log")
        if scope["path"] == "/hold":  # a held poll: answers only when the client leaves
            await send({"type": "http.response.start", "status": 200, "headers": []})
            assert (await receive())["type"] == "http.disconnect"
            self.disconnected.set()
            return
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"location", b"/x/1"), (b"content-type", b"text/plain")],
            }
        )
        for part in (b"one ", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


@pytest.fixture
async def leader():
    app = Recorder()
    touched: list[str] = []
    server = RelayServer(app, SECRET, touched.extend, lambda scope: {**scope, "parley.engine": "leader's"})
    port = await server.start("127.0.0.1", 0)
    yield app, touched, f"127.0.0.1:{port}"
    await server.stop()


def client_for(address: str, secret: str = SECRET) -> RelayClient:
    async def where():
        return address, secret

    return RelayClient(where)


def request_scope(path: str, method: str = "POST") -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"v=1&from=3",
        "headers": [(b"content-type", b"application/json"), (b"x-odd", b"\xe9t\xe9")],
        "client": ("203.0.113.9", 50000),
        "server": ("127.0.0.1", 8080),
        "state": {"format_suffix": "json"},
    }


class Collector:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def __call__(self, message) -> None:
        self.messages.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


async def never_leaves():
    await asyncio.Event().wait()


async def test_a_request_crosses_whole_and_its_answer_streams_back(leader):
    app, _, address = leader
    client, sent = client_for(address), Collector()
    await client.forward(request_scope("/api/account/1/chat/request"), b'{"request":{}}', never_leaves, sent)
    scope, body = app.seen[0]
    assert body == b'{"request":{}}'
    assert scope["method"] == "POST" and scope["path"] == "/api/account/1/chat/request"
    assert scope["query_string"] == b"v=1&from=3" and scope["client"] == ("203.0.113.9", 50000)
    assert (b"x-odd", b"\xe9t\xe9") in scope["headers"]
    assert scope["state"] == {"format_suffix": "json"} and scope["parley.engine"] == "leader's"
    start = sent.messages[0]
    assert start["status"] == 201 and (b"location", b"/x/1") in start["headers"]
    assert sent.body == b"one two"
    assert sent.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_connections_are_reused(leader):
    app, _, address = leader
    client = client_for(address)
    for _ in range(3):
        await client.forward(request_scope("/a", "GET"), b"", never_leaves, Collector())
    assert len(app.seen) == 3
    assert len(client._idle) == 1  # one connection carried all three, one after the other


async def test_a_client_that_leaves_releases_the_held_request_at_the_leader(leader):
    app, _, address = leader
    client, left = client_for(address), asyncio.Event()

    async def receive():
        await left.wait()
        return {"type": "http.disconnect"}

    forwarding = asyncio.create_task(client.forward(request_scope("/hold", "GET"), b"", receive, Collector()))
    while not app.seen:
        await asyncio.sleep(0.01)
    assert not app.disconnected.is_set()
    left.set()
    await asyncio.wait_for(app.disconnected.wait(), 5)
    await asyncio.wait_for(forwarding, 5)


async def test_a_wrong_secret_gets_nothing(leader):
    app, _, address = leader
    with pytest.raises(LinkError) as refused:
        await client_for(address, "guessed").forward(request_scope("/a"), b"x", never_leaves, Collector())
    assert refused.value.sent  # it was sent: the caller must not blindly retry
    assert app.seen == []


async def test_an_unreachable_leader_is_a_retryable_link_error():
    client = client_for("127.0.0.1:1")
    with pytest.raises(LinkError) as refused:
        await client.forward(request_scope("/a"), b"", never_leaves, Collector())
    assert not refused.value.sent


async def test_visitor_activity_reaches_the_leader(leader):
    _, touched, address = leader
    await client_for(address).touch(["chat-a", "chat-b"])
    assert touched == ["chat-a", "chat-b"]


async def test_a_request_that_failed_after_its_answer_leaves_the_connection_usable(leader):
    app, _, address = leader
    client, failed = client_for(address), Collector()
    await client.forward(request_scope("/fails", "GET"), b"", never_leaves, failed)
    assert failed.messages[0]["status"] == 500 and failed.body == b"error body"
    after = Collector()
    await client.forward(request_scope("/a", "GET"), b"", never_leaves, after)  # on the same pooled connection
    assert after.messages[0]["status"] == 201 and after.body == b"one two"
    assert len(app.seen) == 2
