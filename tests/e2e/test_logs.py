"""The log of a real server run: one JSON format for parley's and granian's lines, an access line
per request, and no secrets or chat text in any of it."""

from __future__ import annotations

import orjson

from tests.e2e.conftest import ACCOUNT, KEY, Server, q
from tests.e2e.test_chat_resource import REQUEST

SECRET_LINE = "my card number is 4111-1111 (a line nobody may log)"
AGENT_LINE = "thanks, noted (also never logged)"


def test_a_server_run_logs_json_lines_without_secrets_or_chat_text(database, http):
    server = Server(database).start()
    try:
        base = f"{server.url}/api/account/{ACCOUNT}"
        bearer = http.post(f"{base}/login?v=1.3", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
        auth = {"Authorization": f"Bearer {bearer}"}
        session = http.post(f"{base}/agentSession.json?v=1", json={"loginData": {}}, headers=auth).json()
        session_uri = session["agentSessionLocation"]["link"]["@href"]
        created = http.post(f"{base}/chat/request.json?{q()}", json=REQUEST)
        chat_uri = created.headers["location"]
        accepted = http.post(f"{session_uri}/incomingRequests.json", json={"chat": "start"}, headers=auth)
        agent_uri = accepted.json()["chatLocation"]["link"]["@href"]
        said = http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": SECRET_LINE}})
        assert said.status_code == 201
        answered = http.post(
            f"{agent_uri}/events.json", json={"event": {"@type": "line", "text": AGENT_LINE}}, headers=auth
        )
        assert answered.status_code == 201
        traced = http.get(f"{chat_uri}/events.json?{q()}", headers={"X-Request-Id": "trace-from-proxy-1"})
        assert traced.headers["x-request-id"] == "trace-from-proxy-1"
    finally:
        server.stop()
    text = server.log.read_text()
    lines = [orjson.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["logger"] == "_granian" for line in lines)  # the HTTP server's own lines, same format
    access = [line for line in lines if line["logger"] == "parley.access"]
    routes = {(line["method"], line["route"]) for line in access}
    assert ("POST", "/api/account/{account_id}/chat/{chat_id:chat}/events") in routes
    assert ("POST", "/api/account/{account_id}/login") in routes
    assert all(line["account"] == ACCOUNT for line in access if line["route"].startswith("/api/account"))
    assert [line["status"] for line in access if line["request_id"] == "trace-from-proxy-1"] == [200]
    assert said.headers["x-request-id"] in {line["request_id"] for line in access}
    chat_id = chat_uri.rsplit("/", 1)[1]
    agent_key = agent_uri.rsplit("/", 1)[1]
    for secret in (SECRET_LINE, AGENT_LINE, KEY, bearer, chat_id, agent_key):
        assert secret not in text, secret
