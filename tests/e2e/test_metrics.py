"""/metrics of a real server: the token setting from the command line, and the numbers of a chat."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ACCOUNT, Server, q
from tests.e2e.test_chat_resource import accepted_chat

TOKEN = "scrape-me-7f1c2a"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_behind_a_token_count_a_real_chat(database, http):
    server = Server(database, "--metrics-token", TOKEN).start()
    try:
        assert http.get(f"{server.url}/metrics").status_code == 401
        assert http.get(f"{server.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        chat_uri, agent_uri = accepted_chat(server, http)
        assert (
            http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "hi"}}).status_code
            == 201
        )
        scraped = http.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        server.stop()
    assert scraped.status_code == 200
    found = samples(scraped.text)
    events = "/api/account/{account_id}/chat/{chat_id:chat}/events"
    assert found[("parley_requests_total", (("route", events), ("status", "2xx")))] == 1
    assert found[("parley_requests_total", (("route", "/metrics"), ("status", "4xx")))] == 2
    assert found[("parley_open_chats", (("state", "chatting"),))] == 1
    assert found[("parley_lines_total", (("side", "visitor"),))] == 1
    assert found[("parley_agents", (("account", ACCOUNT), ("availability", "Online")))] == 1
    assert found[("parley_rings_total", ())] == 1
    assert found[("process_resident_memory_bytes", ())] > 0
    assert TOKEN not in server.log.read_text()
    assert agent_uri.rsplit("/", 1)[1] not in scraped.text and chat_uri.rsplit("/", 1)[1] not in scraped.text
