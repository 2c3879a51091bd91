"""A whole conversation on two nodes, every client's consecutive requests landing on alternate
nodes (no sticky sessions): ring, accept, lines both ways, typing, transfer to an agent who logged
in on the other node, end, exit survey."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx

from parley.client import AgentClient, VisitorClient
from tests import postgres
from tests.e2e.conftest import ACCOUNT, KEY
from tests.e2e.test_surveys import EXIT
from tests.nodes.conftest import role, seed_agent


class Alternating(httpx.AsyncBaseTransport):
    """Sends each request to the next node in turn, whatever host the URL names."""

    def __init__(self, ports: list[int]) -> None:
        self.ports, self.turn, self.inner = ports, 0, httpx.AsyncHTTPTransport()
        self.seen: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        self.seen.append(port)
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def alternating(nodes) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=Alternating([node.port for node in nodes]), timeout=30)


async def eventually(read, expected, seconds: float = 5.0):
    """Another client's change reaches a node's view through the bus within milliseconds."""
    deadline = time.monotonic() + seconds
    while True:
        value = await read()
        if value == expected or time.monotonic() > deadline:
            return value


async def test_a_whole_conversation_on_alternate_nodes(nodes, tmp_path, database_url):
    survey = tmp_path / "exit.json"
    survey.write_text(json.dumps(EXIT))
    imported = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "survey",
            "import",
            "--account",
            ACCOUNT,
            "--kind",
            "exit",
            str(survey),
            "--database",
            database_url,
        ],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stderr
    seed_agent(database_url, "bob", "bob-secret", "Bob", ["Sales", "Support"])
    first, second = nodes.start(2)
    assert (role(first), role(second)) == ("leader", "follower")
    natalie = AgentClient(first.url, ACCOUNT, alternating([first, second]))
    bob = AgentClient(second.url, ACCOUNT, alternating([second, first]))
    visitor = VisitorClient(second.url, ACCOUNT, KEY, alternating([second, first]))
    try:
        for agent, (login, password) in ((natalie, ("natalie", "natalie")), (bob, ("bob", "bob-secret"))):
            await agent.login(login, password)
            await agent.start_session()
            await agent.set_availability("Online")
        await visitor.request_chat(skill="Sales")
        assert await natalie.ringing_count(wait=5) + await bob.ringing_count() == 1
        taker = natalie if await natalie.ringing_count() else bob
        other = bob if taker is natalie else natalie
        chat_uri = await taker.accept()
        opening = await visitor.poll(wait=5)
        while len(opening) < 4:
            opening += await visitor.poll(wait=5)
        assert [e["@type"] for e in opening] == ["state", "line", "state", "line"]

        await visitor.set_typing(True)
        assert await eventually(lambda: _info(taker, chat_uri, "visitorTyping"), "typing") == "typing"
        await visitor.send_line("Where is my parcel?")
        seen, _ = await taker.events(chat_uri + "/events?from=4", wait=5)
        assert [e["text"] for e in seen if e["@type"] == "line"] == ["Where is my parcel?"]
        await taker.set_typing(chat_uri, True)
        assert await eventually(lambda: _visitor_info(visitor, "agentTyping"), "typing") == "typing"
        await taker.send_line(chat_uri, "Let me look.")
        lines = []
        while len(lines) < 2:
            lines += [e["text"] for e in await visitor.poll(wait=5) if e["@type"] == "line"]
        assert lines == ["Where is my parcel?", "Let me look."]

        # Transfer to the agent who logged in through the other node.
        other_id = int((await other.info())["id"])
        moved = await taker.http.post(
            chat_uri + "/transfer.json", json={"transfer": {"agent": {"id": other_id}}}, headers=taker._auth
        )
        assert moved.status_code == 200, moved.text
        assert await other.ringing_count(wait=5) == 1
        second_uri = await other.accept()
        await other.send_line(second_uri, "I have your parcel here.")
        lines = []
        while "I have your parcel here." not in lines:
            lines += [e.get("text") for e in await visitor.poll(wait=5) if e["@type"] == "line"]

        await visitor.end()
        ended, _ = await other.events(second_uri + "/events?from=0", wait=5)
        assert ended[-1]["@type"] == "state" and ended[-1]["state"] == "ended"
        answered = await visitor.http.post(
            visitor.chat_uri + f"/exitSurvey.json?v=1&NC=true&appKey={KEY}",
            headers={"X-HTTP-Method-Override": "PUT"},
            json={"survey": {"id": 361348, "question": {"id": 4991315, "answer": "no"}}},
        )
        assert answered.status_code == 200, answered.text
        stored = await postgres.execute(database_url, "SELECT chat_id FROM survey_submissions WHERE kind = 'exit'")
        assert stored == [(visitor.chat_uri.rsplit("/", 1)[1],)]
        # Every client really alternated between the nodes.
        assert set(visitor.http._transport.seen) == {first.port, second.port}
    finally:
        for client in (visitor, natalie, bob):
            await client.close()


async def _info(agent: AgentClient, chat_uri: str, field: str):
    return (await agent.chat(chat_uri))["info"][field]


async def _visitor_info(visitor: VisitorClient, field: str):
    return (await visitor.chat())["info"][field]
