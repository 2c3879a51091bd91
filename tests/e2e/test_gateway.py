"""CORS and security headers at the wire (issue 8, findings 6 and 9)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ACCOUNT, Server, q

LISTED = "https://agents.example.com"


@pytest.fixture
def cors_server(database):
    instance = Server(database, "--cors-credentialed-origins", f"{LISTED}, https://admin.example.com").start()
    yield instance
    instance.stop()


def preflight(server, http, origin: str):
    return http.options(
        f"{server.url}/api/account/{ACCOUNT}/login",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "https://agents.example.com.evil.example"])
def test_a_foreign_origin_gets_cors_without_credentials(cors_server, http, origin):
    answer = http.get(
        f"{cors_server.url}/api/account/{ACCOUNT}/chat/availability.json?{q()}", headers={"Origin": origin}
    )
    assert answer.status_code == 200
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["access-control-allow-origin"] in (origin, "*")
    assert answer.headers["access-control-allow-origin"] != "null"
    check = preflight(cors_server, http, origin)
    assert check.status_code == 204
    assert "access-control-allow-credentials" not in check.headers
    assert check.headers["access-control-allow-origin"] in (origin, "*")
    assert "POST" in check.headers["access-control-allow-methods"]
    assert "Content-Type" in check.headers["access-control-allow-headers"]


def test_without_a_list_no_origin_gets_credentials(server, http):
    answer = http.post(
        f"{server.url}/api/account/{ACCOUNT}/login",
        json={"username": "natalie", "password": "natalie"},
        headers={"Origin": LISTED},
    )
    assert answer.status_code == 200
    assert "access-control-allow-credentials" not in answer.headers
    assert "access-control-allow-credentials" not in preflight(server, http, LISTED).headers


def test_a_listed_origin_gets_credentialed_cors(cors_server, http):
    answer = http.post(
        f"{cors_server.url}/api/account/{ACCOUNT}/login",
        json={"username": "natalie", "password": "natalie"},
        headers={"Origin": LISTED},
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == LISTED
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert answer.headers["vary"] == "Origin"
    check = preflight(cors_server, http, "https://admin.example.com")
    assert check.status_code == 204
    assert check.headers["access-control-allow-origin"] == "https://admin.example.com"
    assert check.headers["access-control-allow-credentials"] == "true"
    assert check.headers["vary"] == "Origin"


def test_security_headers_on_every_kind_of_answer(server, http):
    base = f"{server.url}/api/account/{ACCOUNT}"
    answers = {
        "json": http.get(f"{base}/chat/availability.json?{q()}"),
        "xml": http.get(f"{base}/chat/availability?{q()}", headers={"Accept": "application/xml"}),
        "error": http.get(f"{base}/chat/availability.json?v=1&appKey=wrong"),
        "404": http.get(f"{server.url}/no/such/thing"),
        "405": http.delete(f"{base}/chat/availability.json?{q()}"),
        "bad body": http.post(
            f"{base}/chat/request.json?{q()}", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        "preflight": preflight(server, http, "https://shop.example"),
        "health": http.get(f"{server.url}/health"),
    }
    assert answers["xml"].headers["content-type"].startswith("application/xml")
    assert answers["error"].status_code == 401 and answers["404"].status_code == 404
    for kind, response in answers.items():
        assert response.headers.get("x-content-type-options") == "nosniff", kind
        assert response.headers.get("referrer-policy") == "no-referrer", kind
        # None of these is a page: the page policy is for HTML (tests/unit/http/test_gateway.py).
        assert "content-security-policy" not in response.headers, kind
