"""50 agents on four nodes race to accept 20 ringing chats, in both ring modes: each chat is
accepted exactly once and no agent holds more chats than its maxChats."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from tests import postgres
from tests.nodes.test_failover import BASE, Client, Q, agent_session, seed_agent

AGENTS = 50
CHATS = 20


@pytest.mark.parametrize("mode", ["single", "all"])
async def test_each_chat_is_accepted_once_and_nobody_goes_over_capacity(nodes, mode):
    capacity = {f"racer{i}": 1 + i % 2 for i in range(AGENTS)}  # maxChats 1 or 2
    for login, max_chats in capacity.items():
        seed_agent(nodes.url, login, "secret-pass", login.title(), ["Sales"], max_chats)
    started = nodes.start(
        4, "--ring-mode", mode, "--login-address-limit", "off", "--chat-request-limit", "off", "--ring-timeout", "60"
    )
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http:
        sessions = {}
        for index, login in enumerate(capacity):
            client = Client(http, started[index % 4 :] + started[: index % 4])
            sessions[login] = (client, *await agent_session(client, login, "secret-pass"))
        visitor = Client(http, started)
        for _ in range(CHATS):
            made = await visitor.send("POST", f"{BASE}/chat/request.json?{Q}", json={"request": {"skill": "Sales"}})
            assert made.status_code == 201, made.text
        accepted: list[tuple[str, str]] = []

        async def race(login: str) -> None:
            client, session, auth = sessions[login]
            for _ in range(40):
                client.turn = random.randrange(4)  # each try through any node
                taken = await client.send("POST", f"{session}/incomingRequests.json", json={}, headers=auth)
                if taken.status_code == 201:
                    accepted.append((login, taken.json()["chatLocation"]["link"]["@href"]))
                elif taken.status_code not in (404, 403, 409):
                    raise AssertionError(taken.text)
                if len(accepted) >= CHATS:
                    return
                await asyncio.sleep(random.random() * 0.05)

        await asyncio.gather(*(race(login) for login in capacity))
    assert len(accepted) == CHATS
    rows = await postgres.execute(
        nodes.url, "SELECT agent_id, count(*) FROM chats WHERE state = 'chatting' GROUP BY agent_id"
    )
    assert sum(count for _, count in rows) == CHATS  # each chat taken once, none lost
    logins = dict(await postgres.execute(nodes.url, "SELECT id, login FROM agents"))
    for agent_id, count in rows:
        assert count <= capacity[logins[agent_id]], logins[agent_id]
    per_agent: dict[str, int] = {}
    for login, _ in accepted:
        per_agent[login] = per_agent.get(login, 0) + 1
    assert all(per_agent[login] <= capacity[login] for login in per_agent)
