"""Supporting services (compatibility rules 1 and 3): Domain API lookups and App Engagement."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ACCOUNT, q


@pytest.mark.parametrize(
    "path",
    [
        "/api/account/{a}/service/conversationVep/baseURI.json?version=1.0",
        "/api/account/{a}/service/agentVep/baseURI?version=1.0",
        "/csdr/account/{a}/service/smt/baseURI.json?version=1.0",
    ],
)
def test_single_service_lookup(server, http, path):
    response = http.get(server.url + path.format(a=ACCOUNT))
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["account"] == ACCOUNT and body["baseURI"] == f"127.0.0.1:{server.port}"
    assert body["service"] in path


@pytest.mark.parametrize("suffix", [".json", ""])
def test_service_list(server, http, suffix):
    body = http.get(f"{server.url}/csdr/account/{ACCOUNT}/service/baseURI{suffix}?version=1.0").json()
    services = [entry["service"] for entry in body["baseURIs"]]
    assert {"conversationVep", "agentVep", "smt"} <= set(services)
    assert all(entry["baseURI"] == f"127.0.0.1:{server.port}" for entry in body["baseURIs"])


def test_app_engagement_and_its_skill_routes_the_chat(server, http):
    response = http.post(
        f"{server.url}/api/account/{ACCOUNT}/app/engagement/visitors/?v=1.0",
        json={"appType": "EXTERNAL", "appDetails": {}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "Available"
    details = body["engagementDetails"]
    for key in ("campaignId", "engagementId", "windowId"):
        assert details[key].isdigit()
    assert body["pageId"].isdigit() and details["contextId"] == "1"
    assert details["skillName"] == "Sales"  # no default marked: the account's first skill

    base = f"{server.url}/api/account/{ACCOUNT}"
    login = http.post(f"{base}/login?v=1.3", json={"username": "bob", "password": "bob-secret"}).json()
    auth = {"Authorization": f"Bearer {login['bearer']}"}
    http.post(f"{base}/agentSession.json", json={}, headers=auth)
    for skill_id in (details["skillId"], str(details["skillId"])):
        created = http.post(f"{base}/chat/request.json?{q()}", json={"request": {"skillId": skill_id}})
        info = http.get(f"{created.headers['location']}/info.json?{q()}").json()["info"]
        assert (info["skillName"], info["skillId"]) == ("Sales", details["skillId"])
    for skill_id in (-1, 987654):
        created = http.post(f"{base}/chat/request.json?{q()}", json={"request": {"skillId": skill_id}})
        assert created.status_code == 201
        info = http.get(f"{created.headers['location']}/info.json?{q()}").json()["info"]
        assert "skillName" not in info and info["state"] == "waiting"


@pytest.mark.parametrize("query", ["?v=1.3", "?v=1.2", "?v=1", "", "??v=1&NC=true"])
def test_login_accepts_any_version(server, http, query):
    response = http.post(
        f"{server.url}/api/account/{ACCOUNT}/login{query}", json={"username": "natalie", "password": "natalie"}
    )
    assert response.status_code == 200 and response.json()["bearer"]
