"""The three resources whose JSON spells links both ways (``@href``/``@rel`` and ``href``/``rel``):
visitor chat ``info``, agent ``chatSessions`` and agent multi-chat. Their XML carries ``href`` and
``rel`` as attributes only, never as child elements of a ``link``; their JSON keeps both spellings."""

from __future__ import annotations

from lxml import etree

from tests.e2e.conftest import q
from tests.e2e.test_agent_api import Agent, start_chat


def _links(xml: bytes) -> list[etree._Element]:
    links = etree.fromstring(xml).iter("link")
    found = list(links)
    assert found, xml[:300]
    return found


def _attributes_only(xml: bytes) -> None:
    for element in _links(xml):
        assert element.get("href", "").startswith("http") and element.get("rel"), etree.tostring(element)
        assert [child.tag for child in element] == [], etree.tostring(element)  # no <href>/<rel> children
        assert not (element.text or "").strip(), etree.tostring(element)


def _both_spellings(links: list[dict]) -> None:
    for item in links:
        assert item["href"] == item["@href"] and item["rel"] == item["@rel"], item


def _accepted(server, http):
    agent = Agent(server, http)  # the only agent with a session: the ring is hers
    chat = start_chat(server, http, skill="Sales")
    taken = agent.post(f"{agent.session}/incomingRequests", {})
    assert taken.status_code == 201, taken.text
    agent_chat = taken.json()["chatLocation"]["link"]["@href"]
    return chat, agent, agent_chat


def test_visitor_info_links_are_attributes_in_xml(server, http):
    chat, _, _ = _accepted(server, http)
    xml = http.get(f"{chat}/info.xml?{q()}")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    _attributes_only(xml.content)
    info = http.get(f"{chat}/info.json?{q()}").json()["info"]
    _both_spellings(info["link"])


def test_agent_chat_sessions_links_are_attributes_in_xml(server, http):
    _, agent, agent_chat = _accepted(server, http)
    xml = http.get(f"{agent.session}/chatSessions.xml", headers=agent.auth)
    assert xml.status_code == 200
    _attributes_only(xml.content)
    assert [link.get("href") for link in _links(xml.content)] == [agent_chat]
    session = agent.get("/chatSessions").json()["chatSessions"]["chatSession"]
    _both_spellings([session["link"]])


def test_agent_multi_chat_links_are_attributes_in_xml(server, http):
    _, agent, agent_chat = _accepted(server, http)
    key = agent_chat.rsplit("/", 1)[1]
    xml = http.get(f"{agent.session}/chat.xml", params={"chatSessionKeys": key}, headers=agent.auth)
    assert xml.status_code == 200
    _attributes_only(xml.content)  # the chat's own links and its info's
    chat = agent.get("/chat", chatSessionKeys=key).json()["chats"]["chat"]
    _both_spellings(chat["link"])
    _both_spellings(chat["info"]["link"])
