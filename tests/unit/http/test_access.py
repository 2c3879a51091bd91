"""Every answer's request id and access log line (in process)."""

from __future__ import annotations

import logging

import pytest

from parley.http.access import SANE_REQUEST_ID
from parley.wire import errors
from tests.unit.conftest import log_in
from tests.unit.http.conftest import ACCOUNT_URL, APP_KEY, client


@pytest.fixture
def access(caplog):
    caplog.set_level(logging.INFO, logger="parley.access")
    return lambda: [r for r in caplog.records if r.name == "parley.access"]


async def test_every_answer_names_its_request_and_logs_one_line(http, access, account_id):
    created = await http.post(f"{ACCOUNT_URL}/chat/request.json?v=1&{APP_KEY}", json={"request": {"skill": "Sales"}})
    chat_url = created.headers["location"]
    polled = await http.get(f"{chat_url}/events.json?v=1&{APP_KEY}")
    missing = await http.get("/nowhere")
    ids = [r.headers["x-request-id"] for r in (created, polled, missing)]
    assert len(set(ids)) == 3 and all(SANE_REQUEST_ID.fullmatch(i.encode()) for i in ids)
    lines = access()
    assert [line.request_id for line in lines] == ids
    assert [(line.method, line.route, line.status, line.account) for line in lines] == [
        ("POST", "/api/account/{account_id}/chat/request", 201, account_id),
        ("GET", "/api/account/{account_id}/chat/{chat_id:chat}/events", 200, account_id),
        ("GET", "(unmatched)", 404, None),
    ]
    assert all(line.duration_ms >= 0 for line in lines)
    chat_id = chat_url.rsplit("/", 1)[1]
    assert not any(chat_id in line.getMessage() or chat_id in str(vars(line)) for line in lines)


async def test_a_sane_incoming_id_is_kept_and_an_odd_one_replaced(http, access):
    kept = await http.get("/health", headers={"X-Request-Id": "proxy-7f3a:01.b"})
    assert kept.headers["x-request-id"] == "proxy-7f3a:01.b"
    for odd in ("two words", "x" * 65, "a\u00e9".encode(), 'quote"d', ""):
        replaced = await http.get("/health", headers={"X-Request-Id": odd})
        sent = odd.decode("latin-1") if isinstance(odd, bytes) else odd
        assert replaced.headers["x-request-id"] not in (sent, "")
    assert [line.request_id for line in access()][0] == "proxy-7f3a:01.b"


async def test_errors_and_preflights_carry_an_id_too(http, access):
    refused = await http.get(f"{ACCOUNT_URL}/chat/availability.json?v=1&appKey=wrong")
    preflight = await http.options(
        f"{ACCOUNT_URL}/chat/request",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 401 and refused.headers["x-request-id"]
    assert preflight.status_code == 204 and preflight.headers["x-request-id"]
    assert "X-Request-Id" in preflight.headers["access-control-expose-headers"]
    assert [(line.route, line.status) for line in access()][-1] == ("(preflight)", 204)


async def test_the_access_log_can_be_silenced_by_level(http, caplog):
    caplog.set_level(logging.WARNING, logger="parley.access")
    await http.get("/health")
    assert not [r for r in caplog.records if r.name == "parley.access"]


async def test_an_unexpected_error_is_logged_by_route_and_request_id_never_by_path(app, agents, caplog, monkeypatch):
    from parley.services.visitors import Visitors

    await log_in(agents)

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    async with client(app, raise_app_exceptions=False) as http:
        chat = (
            await http.post(f"{ACCOUNT_URL}/chat/request.json?v=1&{APP_KEY}", json={"request": {"skill": "Sales"}})
        ).headers["location"]
        monkeypatch.setattr(Visitors, "post", broken)
        caplog.set_level(logging.INFO)
        answer = await http.post(f"{chat}/events.json?v=1&{APP_KEY}", json={"event": {"@type": "line", "text": "hi"}})
    assert answer.status_code == 500 and answer.json()["error"]["internalCode"] == errors.INTERNAL
    [error] = [r for r in caplog.records if r.name == "parley.http"]
    assert error.getMessage() == "unexpected error on POST /api/account/{account_id}/chat/{chat_id:chat}/events"
    assert error.request_id == answer.headers["x-request-id"] and error.exc_info[0] is RuntimeError
    [line] = [r for r in caplog.records if r.name == "parley.access"]
    assert line.status == 500 and line.request_id == error.request_id
    assert not any(chat.rsplit("/", 1)[1] in r.getMessage() for r in caplog.records if r.name.startswith("parley"))
