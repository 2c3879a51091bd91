"""The leader is SIGKILLed while chats post lines both ways: the other node takes the lead, every
acknowledged line is there exactly once and in order with dense ids, and clients carry on there
with ``from=N``. A ring timeout pending at the kill still fires on the new leader."""

from __future__ import annotations

import asyncio
import secrets
import signal

import httpx

from tests.e2e.conftest import ACCOUNT, KEY
from tests.nodes.conftest import role, seed_agent, wait_until

CHATS = int(__import__("os").environ.get("NODES_CHATS", "200"))
AGENTS = 4
LINES = 6  # per side and chat
Q = f"v=1&NC=true&appKey={KEY}"
BASE = f"/api/account/{ACCOUNT}"


class Client:
    """Sends each request to a live node, retrying (same Idempotency-Key) what no node answered."""

    def __init__(self, http: httpx.AsyncClient, nodes) -> None:
        self.http, self.nodes, self.turn = http, nodes, 0

    async def send(self, method: str, path: str, **kwargs) -> httpx.Response:
        for _ in range(200):
            node = self.nodes[self.turn % len(self.nodes)]
            self.turn += 1
            if node.process.poll() is not None:
                continue
            try:
                response = await self.http.request(method, node.url + path, **kwargs)
            except httpx.TransportError:
                await asyncio.sleep(0.05)
                continue
            if response.status_code == 503:
                await asyncio.sleep(0.1)
                continue
            return response
        raise AssertionError(f"no node answered {method} {path}")


def path_of(uri: str) -> str:
    return "/" + uri.split("://", 1)[1].split("/", 1)[1]


async def agent_session(client: Client, login: str, password: str) -> tuple[str, dict]:
    bearer = (await client.send("POST", f"{BASE}/login?v=1.3", json={"username": login, "password": password})).json()
    auth = {"Authorization": f"Bearer {bearer['bearer']}"}
    session = await client.send("POST", f"{BASE}/agentSession.json?v=1", json={"loginData": ""}, headers=auth)
    assert session.status_code == 201, session.text
    return path_of(session.headers["location"]), auth


async def test_leader_killed_while_chats_post_lines_both_ways(nodes):
    for index in range(AGENTS):
        seed_agent(nodes.url, f"agent{index}", "secret-pass", f"Agent{index}", ["Sales"], CHATS)
    first, second = nodes.start(2, "--chat-request-limit", "off")
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as http:
        client = Client(http, [first, second])
        agents = [await agent_session(client, f"agent{i}", "secret-pass") for i in range(AGENTS)]
        for session, auth in agents:
            await client.send(
                "POST",
                f"{session}/availability.json",
                json={"availability": {"chat": "Online"}},
                headers={**auth, "X-HTTP-Method-Override": "PUT"},
            )
        gate = asyncio.Semaphore(24)

        async def open_chat() -> str:
            async with gate:
                made = await client.send(
                    "POST",
                    f"{BASE}/chat/request.json?{Q}",
                    json={"request": {"skill": "Sales"}},
                    headers={"Idempotency-Key": secrets.token_hex(16)},
                )
                assert made.status_code == 201, made.text
                return path_of(made.headers["location"])

        chats = await asyncio.gather(*(open_chat() for _ in range(CHATS)))
        # Both sides' views of a chat share its rtSessionId (the agent side never sees the chat id).
        by_session = {}
        for chat in chats:
            info = (await client.send("GET", f"{chat}/info.json?{Q}")).json()["info"]
            by_session[info["rtSessionId"]] = chat
        agent_chats: dict[str, tuple[str, dict]] = {}  # visitor chat path -> (agent chat path, auth)
        while len(agent_chats) < CHATS:
            for session, auth in agents:
                taken = await client.send("POST", f"{session}/incomingRequests.json", json={}, headers=auth)
                if taken.status_code != 201:
                    continue
                agent_uri = path_of(taken.json()["chatLocation"]["link"]["@href"])
                info = (await client.send("GET", agent_uri + "/info.json", headers=auth)).json()["info"]
                agent_chats[by_session[info["rtSessionId"]]] = (agent_uri, auth)

        acknowledged: dict[str, list[str]] = {chat: [] for chat in chats}
        killed = asyncio.Event()

        async def talk(chat: str) -> None:
            agent_uri, auth = agent_chats[chat]
            for number in range(LINES):
                for side in ("visitor", "agent"):
                    text = f"{side} line {number} of {chat[-8:]}"
                    key = {"Idempotency-Key": secrets.token_hex(16)}
                    async with gate:
                        if side == "visitor":
                            answer = await client.send(
                                "POST",
                                f"{chat}/events.json?{Q}",
                                headers=key,
                                json={"event": {"@type": "line", "text": text}},
                            )
                        else:
                            answer = await client.send(
                                "POST",
                                f"{agent_uri}/events.json",
                                headers={**auth, **key},
                                json={"event": {"@type": "line", "text": text}},
                            )
                    assert answer.status_code == 201, answer.text
                    acknowledged[chat].append(text)

        async def kill_the_leader() -> None:
            while sum(map(len, acknowledged.values())) < CHATS * LINES // 2:
                await asyncio.sleep(0.01)
            assert role(first) == "leader"
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
            killed.set()

        await asyncio.gather(kill_the_leader(), *(talk(chat) for chat in chats))
        assert killed.is_set()
        assert role(second) == "leader"
        for chat in chats:
            events = (await client.send("GET", f"{chat}/events.json?{Q}&from=0")).json()["events"]["event"]
            assert [int(e["@id"]) for e in events] == list(range(len(events))), chat  # dense
            lines = [e["text"] for e in events if e["@type"] == "line" and e.get("source") in ("visitor", "agent")]
            assert lines == acknowledged[chat], chat  # each acknowledged line once, in order
            last = int(events[-1]["@id"])
            tail = (await client.send("GET", f"{chat}/events.json?{Q}&from={last}")).json()["events"]["event"]
            assert tail["@id"] == str(last)  # a client carries on with from=N on the surviving node


async def test_a_ring_pending_when_the_leader_dies_still_times_out_once(nodes):
    """The new leader rings again from what the store holds; the unanswered ring then times out
    exactly as it would have: its agent goes Away (once) and the next agent is rung."""
    seed_agent(nodes.url, "first", "secret-pass", "First", ["Sales"])
    seed_agent(nodes.url, "second", "secret-pass", "Second", ["Sales"])
    leader, follower = nodes.start(2, "--ring-timeout", "2")
    async with httpx.AsyncClient(timeout=30) as http:
        client = Client(http, [follower, leader])
        early = await agent_session(client, "first", "secret-pass")
        late = await agent_session(client, "second", "secret-pass")
        made = await client.send("POST", f"{BASE}/chat/request.json?{Q}", json={"request": {"skill": "Sales"}})
        assert made.status_code == 201
        rung = [await ringing(client, *agent) for agent in (early, late)]
        assert sorted(rung) == [0, 1]
        first_rung, other = (early, late) if rung[0] else (late, early)
        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait()
        wait_until(lambda: role(follower) == "leader", "the follower to take the lead")
        await asyncio.sleep(3.5)  # past the ring timeout, counted again by the new leader
        assert await availability(client, *first_rung) == "Away"
        assert await ringing(client, *other) == 1
        taken = await client.send("POST", f"{other[0]}/incomingRequests.json", json={}, headers=other[1])
        assert taken.status_code == 201
        await asyncio.sleep(2.5)  # nothing fires a second time
        assert await availability(client, *other) == "Online"


async def ringing(client: Client, session: str, auth: dict) -> int:
    answer = await client.send("GET", f"{session}/incomingRequests.json", headers=auth)
    return int(answer.json()["incomingRequests"]["ringingCount"])


async def availability(client: Client, session: str, auth: dict) -> str:
    answer = await client.send("GET", f"{session}/availability.json", headers=auth)
    return answer.json()["availability"]["chat"]
