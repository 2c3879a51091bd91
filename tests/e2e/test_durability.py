"""A 2xx means committed: SIGKILL after acknowledged lines, restart, and every event is there."""

from __future__ import annotations

import signal

from tests.e2e.conftest import q
from tests.e2e.test_chat_resource import accepted_chat


def test_sigkill_keeps_every_acknowledged_event_and_the_chat_continues(server, http):
    chat_uri, agent_uri = accepted_chat(server, http)
    acknowledged = []
    for n in range(20):
        response = http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": f"line {n}"}})
        assert response.status_code == 201
        acknowledged.append((response.headers["location"].rsplit("/", 1)[1], f"line {n}"))
    before = http.get(f"{chat_uri}/events.json?{q()}").json()["events"]["event"]

    server.restart(signal.SIGKILL)

    after = http.get(f"{chat_uri}/events.json?{q()}").json()["events"]
    assert after["event"] == before
    texts = {e["@id"]: e.get("text") for e in after["event"]}
    assert all(texts[event_id] == text for event_id, text in acknowledged)
    next_href = next(link["@href"] for link in after["link"] if link["@rel"] == "next")
    last_id = int(acknowledged[-1][0])
    assert next_href.endswith(f"from={last_id + 1}")

    more = http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "after restart"}})
    assert more.headers["location"].endswith(f"/events/{last_id + 1}")
    continued = http.get(f"{next_href}&{q()}", headers={"Accept": "application/json"}).json()["events"]["event"]
    assert continued["text"] == "after restart"
    info = http.get(f"{chat_uri}/info.json?{q()}").json()["info"]
    assert (info["state"], info["agentName"]) == ("chatting", "Natalie")


def test_agent_login_and_session_survive_a_restart(server, http):
    chat_uri, agent_uri = accepted_chat(server, http)
    base = agent_uri.split("/agentSession/")[0]
    bearer = http.post(f"{base}/login?v=1.3", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
    server.restart()
    response = http.post(
        f"{agent_uri}/events.json",
        json={"event": {"@type": "line", "text": "still here"}},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert response.status_code == 201
    last = http.get(f"{chat_uri}/events.json?{q()}").json()["events"]["event"][-1]
    assert (last["text"], last["by"]) == ("still here", "Natalie")


def test_sigterm_stops_cleanly(server, http):
    chat_uri, _ = accepted_chat(server, http)
    assert server.stop(signal.SIGTERM) == 0
    assert server.process.returncode == 0
    server.start()
    assert http.get(f"{chat_uri}/info.json?{q()}").json()["info"]["state"] == "chatting"
