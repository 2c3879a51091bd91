"""A visitor and an agent hold a whole conversation over HTTP, in JSON and in XML."""

from __future__ import annotations

import httpx
from lxml import etree

from parley.client import AgentClient, VisitorClient
from tests.e2e.conftest import ACCOUNT, KEY, q


async def agent_online(server, login="natalie", password="natalie") -> AgentClient:
    agent = AgentClient(server.url, ACCOUNT)
    await agent.login(login, password)
    await agent.start_session()
    await agent.set_availability("Online")
    return agent


async def test_json_conversation_with_lines_typing_name_and_agent_end(server):
    agent = await agent_online(server)
    visitor = VisitorClient(server.url, ACCOUNT, KEY)
    try:
        assert await visitor.available("Sales") is True
        await visitor.request_chat(skill="Sales")
        assert await agent.ringing_count() == 1
        chat_uri = await agent.accept()
        # The agent side names the chat by its own key, never by the visitor's chat id (the visitor's secret).
        assert "/agentSession/" in chat_uri and visitor.chat_uri.rsplit("/", 1)[1] not in chat_uri

        opening = await visitor.poll()
        assert [e["@type"] for e in opening] == ["state", "line", "state", "line"]
        assert opening[3]["systemMessageId"] == 3
        assert opening[3]["text"] == "You are now chatting with Natalie."

        await visitor.set_typing(True)
        info = await agent.chat(chat_uri)
        assert info["info"]["visitorTyping"] == "typing"
        await visitor.set_name("Ann")
        await visitor.send_line("My order is late")
        events, next_href = await agent.events(chat_uri + "/events?from=4")
        line = events[-1]
        assert (line["text"], line["by"], line["source"]) == ("My order is late", "Ann", "visitor")
        assert (await agent.chat(chat_uri))["info"]["visitorTyping"] == "not-typing"

        await agent.set_typing(chat_uri, True)
        assert (await visitor.chat())["info"]["agentTyping"] == "typing"
        await agent.send_line(chat_uri, "Let me check that for you.")
        await agent.send_line(chat_uri, "Visitor seems upset", sub_type="ONLY_TO_REP")
        seen = await visitor.poll()
        assert [e["text"] for e in seen if e["@type"] == "line"] == ["My order is late", "Let me check that for you."]
        assert seen[-1]["by"] == "Natalie" and seen[-1]["source"] == "agent"
        assert (await visitor.chat())["info"]["agentTyping"] == "not-typing"

        private, _ = await agent.events(next_href)
        assert any(e.get("subType") == "ONLY_TO_REP" for e in private)

        await agent.end_chat(chat_uri)
        closing = await visitor.poll()
        assert [(e["@type"], e.get("systemMessageId"), e.get("state")) for e in closing] == [
            ("line", 5, None),
            ("state", None, "ended"),
        ]
        final = await visitor.chat()
        assert final["info"]["state"] == "ended"
        assert await agent.ringing_count() == 0
    finally:
        await visitor.close()
        await agent.close()


async def test_visitor_ends_and_agent_sees_it(server):
    agent = await agent_online(server)
    visitor = VisitorClient(server.url, ACCOUNT, KEY)
    try:
        await visitor.request_chat(skill="Sales")
        chat_uri = await agent.accept()
        await visitor.end()
        events, _ = await agent.events(chat_uri + "/events")
        assert events[-1]["@type"] == "state" and events[-1]["state"] == "ended"
        assert not any(e.get("systemMessageId") == 5 for e in events)
        # The agent's slot is free again: its chat sessions list is empty.
        sessions = httpx.get(
            agent.session_uri + "/chatSessions.json", headers={"Authorization": f"Bearer {agent.bearer}"}
        ).json()
        assert sessions == {"chatSessions": {}}
    finally:
        await visitor.close()
        await agent.close()


def xml(response: httpx.Response) -> etree._Element:
    assert response.headers["content-type"].startswith("application/xml")
    return etree.fromstring(response.content)


def test_xml_conversation(server, http):
    base = f"{server.url}/api/account/{ACCOUNT}"
    xml_headers = {"Content-Type": "application/xml"}
    login = http.post(f"{base}/login?v=1.3", json={"username": "natalie", "password": "natalie"}).json()
    agent_headers = {
        "Authorization": f"Bearer {login['bearer']}",
        "Accept": "application/xml",
        "Content-Type": "application/xml",
    }
    session = xml(http.post(f"{base}/agentSession?v=1", content=b"<loginData/>", headers=agent_headers))
    session_uri = session.find("link").get("href")

    created = http.post(
        f"{base}/chat/request?{q()}", content=b"<request><skill>Sales</skill></request>", headers=xml_headers
    )
    assert created.status_code == 201 and created.content == b""
    chat_uri = created.headers["location"]

    ring = xml(http.get(f"{session_uri}/incomingRequests", headers=agent_headers))
    assert ring.findtext("ringingCount") == "1"
    accepted = xml(http.post(ring.find("link").get("href"), content=b"", headers=agent_headers))
    agent_chat = accepted.find("link").get("href")

    line = http.post(
        f"{chat_uri}/events?{q()}",
        content=b'<event type="line"><text>Hi &amp; hello</text></event>',
        headers=xml_headers,
    )
    assert line.status_code == 201
    answer = http.post(
        f"{agent_chat}/events",
        headers=agent_headers,
        content=b'<event type="line"><text>Welcome</text><textType>plain</textType></event>',
    )
    assert answer.status_code == 201
    assert xml(answer).tag == "chatEventLocation"

    typing = http.post(
        f"{chat_uri}/info/visitorTyping?{q()}",
        content=b"<visitorTyping>typing</visitorTyping>",
        headers={**xml_headers, "X-HTTP-Method-Override": "PUT"},
    )
    assert typing.status_code == 200 and typing.content == b""
    assert xml(http.get(f"{agent_chat}/info/visitorTyping", headers=agent_headers)).text == "typing"

    chat = xml(http.get(f"{chat_uri}?{q()}"))  # no Accept, no suffix: XML is the default
    assert [link.get("rel") for link in chat.findall("link")][:4] == ["self", "events", "info", "next"]
    texts = [e.findtext("text") for e in chat.find("events").findall("event") if e.get("type") == "line"]
    assert texts[-2:] == ["Hi & hello", "Welcome"]

    ended = http.post(
        f"{chat_uri}/events?{q()}", content=b'<event type="state"><state>ended</state></event>', headers=xml_headers
    )
    assert ended.status_code == 201
    assert xml(http.get(f"{chat_uri}/info?{q()}")).findtext("state") == "ended"
