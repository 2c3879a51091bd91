"""The chat resource of server spec V10, the primary reference: every key, type and link order."""

from __future__ import annotations

import re

import httpx
from lxml import etree

from tests.e2e.conftest import ACCOUNT, q

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
CHAT_RELS = [
    "self",
    "events",
    "info",
    "next",
    "transcript-request",
    "transcript-with-subject-request",
    "exit-survey",
    "custom-variables",
]
INFO_TYPES = {
    "state": str,
    "chatSessionKey": str,
    "skillName": str,
    "skillId": int,
    "agentName": str,
    "agentId": int,
    "startTime": str,
    "duration": int,
    "lastUpdate": str,
    "chatTimeout": int,
    "visitorId": int,
    "agentTyping": str,
    "visitorTyping": str,
    "visitorName": str,
    "rtSessionId": int,
    "sharkVisitorId": str,
    "sharkSessionId": str,
    "sharkContextId": int,
    "engagementId": int,
    "campaignId": int,
    "language": str,
}
REQUEST = {
    "request": {
        "skill": "Sales",
        "interactionTimeout": 40,
        "preChatLines": {"line": ["Came from the pricing page"]},
        "LETagVisitorId": "rloXnVgEQ-iQuoOytvKNqA",
        "LETagSessionId": "rN82d4rATN6EuiA4cJwaPg",
        "LETagContextId": "2",
        "engagementId": 27469613,
        "campaignId": 26948813,
        "language": "en-US",
    }
}


def accepted_chat(server, http: httpx.Client) -> tuple[str, str]:
    """The V10 situation: a chat on skill Sales accepted by agent Natalie. Returns (visitor URI, agent URI)."""
    base = f"{server.url}/api/account/{ACCOUNT}"
    bearer = http.post(f"{base}/login?v=1.3", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
    auth = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    session = http.post(f"{base}/agentSession.json?v=1", json={"loginData": {}}, headers=auth).json()
    session_uri = session["agentSessionLocation"]["link"]["@href"]
    created = http.post(f"{base}/chat/request.json?{q()}", json=REQUEST)
    assert created.status_code == 201
    accepted = http.post(f"{session_uri}/incomingRequests.json", json={"chat": "start"}, headers=auth)
    assert accepted.status_code == 201
    return created.headers["location"], accepted.json()["chatLocation"]["link"]["@href"]


def test_json_chat_resource_matches_the_spec_example(server, http):
    chat_uri, _ = accepted_chat(server, http)
    body = http.get(f"{chat_uri}.json?{q()}").json()
    assert list(body) == ["chat"]
    chat = body["chat"]
    assert list(chat) == ["link", "events", "info"]
    assert [link["@rel"] for link in chat["link"]] == CHAT_RELS
    assert all(list(link) == ["@href", "@rel"] for link in chat["link"])
    suffixes = [
        "",
        "/events",
        "/info",
        "?from=",
        "/transcriptRequest",
        "/transcriptWithSubjectRequest",
        "/exitSurvey",
        "/customVariables",
    ]
    for link, suffix in zip(chat["link"], suffixes):
        assert link["@href"].startswith(chat_uri + suffix)
    events = chat["events"]
    assert [link["@rel"] for link in events["link"]] == ["self", "next"]
    visible = events["event"]
    assert isinstance(visible, list)
    assert [(e["@id"], e["@type"]) for e in visible] == [("0", "state"), ("1", "line"), ("3", "state"), ("4", "line")]
    next_id = int(chat["link"][3]["@href"].rsplit("=", 1)[1])
    assert next_id == 5  # the agent-only pre-chat line (id 2) counts; the visitor sees a gap
    system = visible[1]
    assert list(system) == ["@id", "@type", "time", "textType", "text", "by", "source", "systemMessageId", "subType"]
    assert (system["by"], system["source"], system["systemMessageId"], system["subType"]) == (
        "info",
        "system",
        4,
        "REGULAR",
    )
    assert visible[3]["text"] == "You are now chatting with Natalie."
    assert all(TIME.match(e["time"]) for e in visible)

    info = chat["info"]
    assert [link["@rel"] for link in info["link"]] == ["self", "visitor-name", "visitor-typing", "agent-typing"]
    assert all(list(link) == ["@href", "@rel"] for link in info["link"])
    assert list(info)[1:] == list(INFO_TYPES)
    for key, kind in INFO_TYPES.items():
        assert isinstance(info[key], kind) and not isinstance(info[key], bool), key
    assert (info["state"], info["skillName"], info["agentName"], info["visitorName"]) == (
        "chatting",
        "Sales",
        "Natalie",
        "You",
    )
    assert info["chatSessionKey"] == chat_uri.rsplit("/", 1)[1]
    assert (info["sharkContextId"], info["engagementId"], info["campaignId"]) == (2, 27469613, 26948813)
    assert info["duration"] == 0 and info["chatTimeout"] == 40
    assert 0 < info["visitorId"] <= 2**53 - 1 and 0 < info["rtSessionId"] <= 2**53 - 1
    assert TIME.match(info["startTime"]) and TIME.match(info["lastUpdate"])


def test_xml_chat_resource_has_the_same_tree(server, http):
    chat_uri, _ = accepted_chat(server, http)
    response = http.get(f"{chat_uri}.xml?{q()}")
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    chat = etree.fromstring(response.content)
    assert chat.tag == "chat"
    assert [child.tag for child in chat] == ["link"] * 8 + ["events", "info"]
    assert [link.get("rel") for link in chat.findall("link")] == CHAT_RELS
    events = chat.find("events")
    assert [e.get("id") for e in events.findall("event")] == ["0", "1", "3", "4"]
    assert events.findall("event")[1].findtext("systemMessageId") == "4"
    info = chat.find("info")
    assert [c.tag for c in info][4:] == list(INFO_TYPES)
    assert info.findtext("agentName") == "Natalie" and info.findtext("sharkContextId") == "2"


def test_agent_view_shows_prechat_line_and_agent_links(server, http):
    _, agent_uri = accepted_chat(server, http)
    base = f"{server.url}/api/account/{ACCOUNT}"
    bearer = http.post(f"{base}/login?v=1.3", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
    chat = http.get(f"{agent_uri}.json", headers={"Authorization": f"Bearer {bearer}"}).json()["chat"]
    assert [link["@rel"] for link in chat["link"]] == [
        "self",
        "events",
        "info",
        "next",
        "collaboration-channels",
        "visit-id",
        "transfer",
        "transfer-account",
        "agent-survey",
    ]
    chat_id = agent_uri.rsplit("/", 1)[1]
    visit = chat_id.split("-")[0] + chat_id[chat_id.index("K") :]
    assert chat["link"][5]["@href"].endswith(f"/visits/visit/{visit}")
    prechat = chat["events"]["event"][2]
    assert (prechat["text"], prechat["subType"], prechat["by"], prechat["source"]) == (
        "Came from the pricing page",
        "ONLY_TO_REP",
        "info",
        "system",
    )
    assert chat["info"]["visitorName"] == "visitor"
