"""Conventions of server spec §1 and §7.1 that apply to every resource."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import ACCOUNT, KEY, Server, database_url, q
from tests.e2e.test_chat_resource import accepted_chat


def event_ids(body: dict) -> list[str]:
    events = body["events"].get("event")
    if events is None:
        return []
    return [e["@id"] for e in (events if isinstance(events, list) else [events])]


def next_of(links: list[dict]) -> str:
    return next(link["@href"] for link in links if link["@rel"] == "next")


def test_from_and_next_rules(server, http):
    chat_uri, _ = accepted_chat(server, http)  # ids 0-4 exist; 2 is agent-only
    everything = http.get(f"{chat_uri}/events.json?{q()}").json()
    assert event_ids(everything) == ["0", "1", "3", "4"]
    assert next_of(everything["events"]["link"]) == f"{chat_uri}/events?from=5"

    one = http.get(f"{chat_uri}/events.json?{q('from=4')}").json()
    assert isinstance(one["events"]["event"], dict)  # one event collapses to an object
    assert event_ids(one) == ["4"]

    nothing = http.get(f"{chat_uri}/events.json?{q('from=5')}").json()
    assert "event" not in nothing["events"]
    assert next_of(nothing["events"]["link"]) == f"{chat_uri}/events?from=5"

    beyond = http.get(f"{chat_uri}/events.json?{q('from=99')}").json()
    assert event_ids(beyond) == [] and next_of(beyond["events"]["link"]).endswith("from=5")

    chat = http.get(f"{chat_uri}.json?{q('from=3')}").json()["chat"]
    assert next_of(chat["link"]) == f"{chat_uri}?from=5"
    assert [e["@id"] for e in chat["events"]["event"]] == ["3", "4"]
    assert chat["info"]["state"] == "chatting"  # info is complete whatever from says

    for bad in ("-1", "abc", "1.5"):
        response = http.get(f"{chat_uri}/events.json?{q('from=' + bad)}")
        assert response.status_code == 400
        assert response.json()["error"]["internalCode"] == 11

    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "new"}})
    after = http.get(next_of(nothing["events"]["link"]) + f"&{q()}", headers={"Accept": "application/json"}).json()
    assert event_ids(after) == ["5"]


def test_app_key_forms_and_bearer(server, http):
    entry = f"{server.url}/api/account/{ACCOUNT}"
    assert http.get(f"{entry}.json?v=1&appKey={KEY}").status_code == 200
    assert http.get(f"{entry}.json?v=1&appkey={KEY}").status_code == 200
    assert http.get(f"{entry}.json?v=1", headers={"Authorization": f"LivePerson appKey={KEY}"}).status_code == 200
    bearer = http.post(f"{entry}/login?v=1.3", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
    assert http.get(f"{entry}.json", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200
    for headers, query in (({}, ""), ({}, "&appKey=0000"), ({"Authorization": "Bearer nope"}, "")):
        response = http.get(f"{entry}.json?v=1{query}", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["internalCode"] == 10
    unknown = http.get(f"{server.url}/api/account/99999.json?{q()}")
    assert unknown.status_code == 404 and unknown.json()["error"]["internalCode"] == 12


def test_method_override_and_real_put(server, http):
    chat_uri, _ = accepted_chat(server, http)
    name_uri = f"{chat_uri}/info/visitorName.json?{q()}"
    override = http.post(name_uri, json={"visitorName": "Ann"}, headers={"X-HTTP-Method-Override": "put"})
    assert override.status_code == 200 and override.content == b""
    assert http.get(name_uri).json() == {"visitorName": "Ann"}
    real = http.put(name_uri, json={"visitorName": "Bea"})
    assert real.status_code == 200
    assert http.get(name_uri).json() == {"visitorName": "Bea"}
    plain_post = http.post(name_uri, json={"visitorName": "Cy"})
    assert plain_post.status_code == 405 and plain_post.json()["error"]["internalCode"] == 13


def test_json_suffix_accept_and_default_format(server, http):
    chat_uri, _ = accepted_chat(server, http)
    paths = ["", "/events", "/events/0", "/info", "/info/visitorName", "/info/visitorTyping", "/info/agentTyping"]
    for path in paths:
        suffixed = http.get(f"{chat_uri}{path}.json?{q()}")
        assert suffixed.status_code == 200, path
        assert suffixed.headers["content-type"] == "application/json"  # no charset: the JS SDK checks exactly
        as_xml = http.get(f"{chat_uri}{path}.xml?{q()}")
        assert as_xml.headers["content-type"].startswith("application/xml"), path
    assert http.get(f"{chat_uri}?{q()}", headers={"Accept": "application/json"}).json()["chat"]
    assert http.get(f"{chat_uri}?{q()}", headers={"Accept": "*/*"}).content.startswith(b"<?xml")
    assert http.get(f"{chat_uri}?{q()}").content.startswith(b"<?xml")
    for path in ("/chat/availability", "/chat/availableSlots", "/chat/estimatedWaitTime"):
        assert http.get(f"{server.url}/api/account/{ACCOUNT}{path}.json?{q()}").status_code == 200


def test_repeated_slashes_version_cors_and_unknown_paths(server, http):
    base = f"{server.url}/api/account/{ACCOUNT}"
    assert http.get(f"{server.url}/api/account//{ACCOUNT}//chat/availability.json?{q()}").status_code == 200
    bad_version = http.get(f"{base}/chat/availability.json?v=2&appKey={KEY}")
    assert bad_version.status_code == 400 and bad_version.json()["error"]["internalCode"] == 11
    preflight = http.options(
        f"{base}/chat/request", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    assert "X-HTTP-Method-Override" in preflight.headers["access-control-allow-headers"]
    created = http.post(
        f"{base}/chat/request.json?{q()}", json={"request": {}}, headers={"Origin": "https://shop.example"}
    )
    assert created.headers["access-control-expose-headers"] == "Location, X-Request-Id"
    assert created.headers["cache-control"] == "no-cache, no-store"
    missing = http.get(f"{base}/no/such/thing.json?{q()}")
    assert missing.status_code == 404 and missing.json()["error"]["internalCode"] == 12
    assert http.get(f"{base}/no/such/thing?{q()}").content.startswith(b"<?xml")


def test_public_url_drives_links_and_location(database, http):
    server = Server(database, "--public-url", "https://chat.example.com").start()
    try:
        created = http.post(
            f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}",
            json={"request": {}},
            headers={"Host": "internal:9"},
        )
        assert created.headers["location"].startswith(f"https://chat.example.com/api/account/{ACCOUNT}/chat/H")
        looked_up = http.get(f"{server.url}/api/account/{ACCOUNT}/service/agentVep/baseURI.json?version=1.0")
        assert looked_up.json()["baseURI"] == "chat.example.com"
    finally:
        server.stop()


def test_hrefs_follow_the_host_header_without_public_url(server, http):
    created = http.post(
        f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}",
        json={"request": {}},
        headers={"Host": "proxy.example:8443"},
    )
    assert created.headers["location"].startswith("http://proxy.example:8443/api/account/")


@pytest.mark.parametrize("zone, offset", [("Asia/Kolkata", "+05:30"), ("America/Argentina/Buenos_Aires", "-03:00")])
def test_times_use_the_account_time_zone(server, http, zone, offset):
    account = "tz" + offset[1:3]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "account",
            "create",
            "--id",
            account,
            "--timezone",
            zone,
            "--database",
            database_url(server.database),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    key = out.stdout.strip()
    base = f"{server.url}/api/account/{account}"
    created = None
    for _ in range(50):  # the running server picks up the CLI's change within its sweep interval
        created = http.post(f"{base}/chat/request.json?v=1&appKey={key}", json={"request": {}})
        if created.status_code == 201:
            break
        time.sleep(0.1)
    assert created.status_code == 201
    chat = http.get(f"{created.headers['location']}.json?v=1&appKey={key}").json()["chat"]
    assert chat["info"]["startTime"].endswith(offset)
    assert all(event["time"].endswith(offset) for event in chat["events"]["event"])
    # Nobody is logged in to this account: the no-agent rule ends the chat with system line 2.
    assert chat["events"]["event"][-2]["systemMessageId"] == 2 and chat["info"]["state"] == "ended"
