"""Abuse limits at the wire (issue 8, finding 7): logins, chat requests, submissions, transcript
recipients; polls never; ``off`` disables; X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import ACCOUNT, Server, free_port, q

PUT = {"X-HTTP-Method-Override": "PUT"}


@pytest.fixture
def limited(database, request):
    """A server started with the flags a test names: ``@pytest.mark.parametrize("limited", [[...]], indirect=True)``."""
    instance = Server(database, *request.param).start()
    yield instance
    instance.stop()


def login(server, http, password: str, username: str = "natalie", **headers):
    return http.post(
        f"{server.url}/api/account/{ACCOUNT}/login?v=1.3",
        json={"username": username, "password": password},
        headers=headers,
    )


def request_chat(server, http, suffix: str = ".json", **headers):
    return http.post(
        f"{server.url}/api/account/{ACCOUNT}/chat/request{suffix}?{q()}", json={"request": {}}, headers=headers
    )


def assert_throttled(response, json: bool = True) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    if json:
        assert response.json()["error"]["internalCode"] == 27
    else:
        assert "<internalCode>27</internalCode>" in response.text
    return retry_after


def test_the_30th_wrong_password_gets_429_and_then_the_right_one_too(server, http):
    answers = [login(server, http, f"guess-{n}") for n in range(30)]
    assert {a.status_code for a in answers[:10]} == {401}  # the default: 10 attempts per login a minute
    assert_throttled(answers[29])
    assert answers[29].headers["content-type"].startswith("application/json")
    assert_throttled(login(server, http, "natalie"))


@pytest.mark.parametrize("limited", [["--login-limit", "3/2second"]], indirect=True)
def test_the_right_password_works_again_once_the_window_passed(limited, http):
    for n in range(3):
        assert login(limited, http, f"guess-{n}").status_code == 401
    wait = assert_throttled(login(limited, http, "natalie"))
    time.sleep(wait + 0.2)
    assert login(limited, http, "natalie").status_code == 200


@pytest.mark.parametrize("limited", [["--login-limit", "off", "--login-address-limit", "3/minute"]], indirect=True)
def test_logins_are_limited_per_client_address_whatever_the_name(limited, http):
    for name in ("natalie", "bob", "nobody"):
        assert login(limited, http, "wrong", username=name).status_code == 401
    assert_throttled(login(limited, http, "bob-secret", username="bob"))


@pytest.mark.parametrize("limited", [["--chat-request-limit", "3/minute"]], indirect=True)
def test_chat_requests_are_limited_per_address_and_polls_never(limited, http):
    chats = [request_chat(limited, http) for _ in range(3)]
    assert [c.status_code for c in chats] == [201, 201, 201]
    assert_throttled(request_chat(limited, http))
    # XML clients get the error in XML.
    assert_throttled(request_chat(limited, http, suffix="", Accept="application/xml"), json=False)
    chat = chats[0].headers["location"]
    for n in range(100):
        assert http.get(f"{chat}/events.json?{q('from=0')}").status_code == 200
        assert http.get(f"{chat}.json?{q()}").status_code == 200


@pytest.mark.parametrize(
    "limited",
    [
        [
            "--chat-request-limit",
            "off",
            "--login-limit",
            "off",
            "--login-address-limit",
            "off",
            "--transcript-recipients",
            "off",
        ]
    ],
    indirect=True,
)
def test_off_disables_a_limit(limited, http):
    assert {login(limited, http, f"guess-{n}").status_code for n in range(25)} == {401}
    assert login(limited, http, "natalie").status_code == 200
    assert {request_chat(limited, http).status_code for _ in range(65)} == {201}
    chat = request_chat(limited, http).headers["location"]
    for n in range(6):
        response = http.post(f"{chat}/transcriptRequest.json?{q()}", headers=PUT, json={"email": f"r{n}@example.com"})
        assert response.status_code == 200


def test_a_chat_has_at_most_three_transcript_recipients(server, http):
    chat = request_chat(server, http).headers["location"]
    url = f"{chat}/transcriptRequest.json?{q()}"
    for address in ("a@example.com", "b@example.com", "c@example.com", "A@example.com"):
        assert http.post(url, headers=PUT, json={"email": address}).status_code == 200
    refused = http.post(url, headers=PUT, json={"email": "d@example.com"})
    assert refused.status_code == 400
    assert refused.json()["error"]["internalCode"] == 11
    with_subject = http.post(
        f"{chat}/transcriptWithSubjectRequest.json?{q()}",
        headers=PUT,
        json={"email": "e@example.com", "subject": "Buy now"},
    )
    assert with_subject.status_code == 400
    # Another chat has its own recipients.
    other = request_chat(server, http).headers["location"]
    assert (
        http.post(f"{other}/transcriptRequest.json?{q()}", headers=PUT, json={"email": "d@example.com"}).status_code
        == 200
    )


@pytest.mark.parametrize("limited", [["--submission-limit", "3/minute"]], indirect=True)
def test_submissions_share_one_limit_per_address(limited, http):
    chat = request_chat(limited, http).headers["location"]
    transcript = http.post(f"{chat}/transcriptRequest.json?{q()}", headers=PUT, json={"email": "a@example.com"})
    assert transcript.status_code == 200
    offline = http.post(
        f"{limited.url}/api/account/{ACCOUNT}/chat/offlineSurvey.json?{q()}", headers=PUT, json={"survey": {"id": 1}}
    )
    assert offline.status_code not in (429, 500)
    exit_survey = http.post(f"{chat}/exitSurvey.json?{q()}", headers=PUT, json={"survey": {"id": 1}})
    assert exit_survey.status_code not in (429, 500)
    assert_throttled(
        http.post(
            f"{limited.url}/api/account/{ACCOUNT}/chat/offlineSurvey.json?{q()}",
            headers=PUT,
            json={"survey": {"id": 1}},
        )
    )
    assert_throttled(http.post(f"{chat}/exitSurvey.json?{q()}", headers=PUT, json={"survey": {"id": 1}}))
    assert_throttled(http.post(f"{chat}/transcriptRequest.json?{q()}", headers=PUT, json={"email": "a@example.com"}))


@pytest.mark.parametrize(
    "limited", [["--trusted-proxies", "127.0.0.1/32", "--chat-request-limit", "2/minute"]], indirect=True
)
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count(limited, http):
    first = {"X-Forwarded-For": "203.0.113.7"}
    assert request_chat(limited, http, **first).status_code == 201
    assert request_chat(limited, http, **first).status_code == 201
    assert_throttled(request_chat(limited, http, **first))
    assert request_chat(limited, http, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 201
    # A client behind the proxy cannot escape by prepending an address of its choosing.
    assert_throttled(request_chat(limited, http, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}))
    # IPv6 clients count per /64: a host cannot walk its prefix for fresh budgets.
    for address in ("2001:db8:1:2::1", "2001:db8:1:2::ffff"):
        assert request_chat(limited, http, **{"X-Forwarded-For": address}).status_code == 201
    assert_throttled(request_chat(limited, http, **{"X-Forwarded-For": "2001:db8:1:2:abcd::7"}))
    assert request_chat(limited, http, **{"X-Forwarded-For": "2001:db8:1:3::1"}).status_code == 201


@pytest.mark.parametrize(
    "limited", [["--trusted-proxies", "10.0.0.0/8", "--chat-request-limit", "2/minute"]], indirect=True
)
def test_from_an_untrusted_peer_x_forwarded_for_is_ignored(limited, http):
    assert request_chat(limited, http, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 201
    assert request_chat(limited, http, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 201
    assert_throttled(request_chat(limited, http, **{"X-Forwarded-For": "203.0.113.9"}))


@pytest.mark.parametrize(
    "flags",
    [
        ["--login-limit", "lots"],
        ["--chat-request-limit", "0/minute"],
        ["--submission-limit", "5/fortnight"],
        ["--transcript-recipients", "none"],
        ["--limits-storage", "carrier-pigeon://loft"],
        ["--limits-storage", "memcached://127.0.0.1:1"],
        ["--cors-credentialed-origins", "null"],
        ["--cors-credentialed-origins", "https://agents.example.com/console"],
    ],
)
def test_a_bad_limit_setting_refuses_to_start(tmp_path, flags):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "serve",
            "--port",
            str(free_port()),
            "--database",
            f"sqlite:///{tmp_path / 'p.db'}",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"parley: {flags[0].lstrip('-')}"), result.stderr  # ours, not argparse's
