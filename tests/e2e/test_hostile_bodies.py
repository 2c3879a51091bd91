"""Bodies built to make the server work: refused with 400 and the API's error body (BAD_BODY)
at the bounds, and while they arrive every other request is still answered (issue 8, finding
1: one 1 MB body of 90,000 attributes held every request for 84 s)."""

from __future__ import annotations

import threading

import httpx
import orjson
import pytest

from tests.e2e.conftest import ACCOUNT, Server, q, seed
from tests.e2e.test_numbers import error_of

XML = {"Content-Type": "application/xml"}
JSON = {"Content-Type": "application/json"}


def attributes(count: int) -> bytes:
    return b"<event " + b" ".join(b'a%d="1"' % i for i in range(count)) + b"/>"


def nested_json(depth: int) -> bytes:
    return b'{"request":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


HOSTILE = {
    # (body, headers, words of the refusal's message)
    "90,000 attributes": (attributes(90_000), XML, "attributes"),
    "200,000 elements": (b"<request>" + b"<e/>" * 200_000 + b"</request>", XML, "elements"),
    "XML 65 deep": (b"<request>" + b"<e>" * 64 + b"</e>" * 64 + b"</request>", XML, "nested"),
    "XML 5,000 deep": (b"<request>" * 5000 + b"</request>" * 5000, XML, ""),
    # Past 10,000 commas a JSON body is refused before it is parsed ...
    "90,000 keys": (orjson.dumps({"request": {f"k{i}": 1 for i in range(90_000)}}), JSON, "commas"),
    "300,000 items": (orjson.dumps({"request": {"skill": "Sales", "x": [1] * 300_000}}), JSON, "commas"),
    # ... below, by the bounds on the parsed document.
    "1,001 keys": (orjson.dumps({"request": {f"k{i}": 1 for i in range(1001)}}), JSON, "keys"),
    "1,001 items": (orjson.dumps({"request": {"skill": "Sales", "x": [1] * 1001}}), JSON, "items"),
    "14,012 values": (orjson.dumps({"request": {f"k{i}": [[1]] * 700 for i in range(10)}}), JSON, "values"),
    "JSON 65 deep": (nested_json(65), JSON, "nested"),
    "JSON 5,000 deep": (nested_json(5000), JSON, ""),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    database = tmp_path_factory.mktemp("hostile") / "parley.db"
    seed(database)
    instance = Server(database).start()
    yield instance
    instance.stop()


def urls(server: Server) -> dict[str, str]:
    base = f"{server.url}/api/account/{ACCOUNT}"
    # login: unauthenticated; chat/request: only the public app key
    return {"login": f"{base}/login", "chat/request": f"{base}/chat/request.json?{q()}"}


def refused_as_bad_body(response: httpx.Response, words: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    error = error_of(response)
    assert int(error["internalCode"]) == 5 and error["time"]
    assert words in error["message"]


@pytest.mark.parametrize("route", ["login", "chat/request"])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_body_is_refused(served, route, name):
    body, headers, words = HOSTILE[name]
    # The client's timeout only keeps a regression from hanging the suite; speed is in bench/.
    with httpx.Client(timeout=60) as http:
        refused_as_bad_body(http.post(urls(served)[route], content=body, headers=headers), words)


def test_bodies_at_the_bounds_still_work(served):
    """The bounds refuse nothing a client sends: a request with 64 attributes on one element and
    a JSON request with 1,000 custom variables both open a chat."""
    base = f"{served.url}/api/account/{ACCOUNT}"
    with httpx.Client(timeout=60) as http:
        extra = " ".join(f'a{i}="1"' for i in range(63))
        xml = f'<request {extra} x="y"><skill>Sales</skill></request>'.encode()
        assert http.post(f"{base}/chat/request?{q()}", content=xml, headers=XML).status_code == 201
        variables = [{"name": f"v{i}", "value": str(i)} for i in range(1000)]
        body = {"request": {"skill": "Sales", "customVariables": {"customVariable": variables}}}
        assert http.post(f"{base}/chat/request.json?{q()}", json=body).status_code == 201


def test_health_answers_while_hostile_bodies_arrive(served):
    """Four clients send the worst bodies over and over; /health is answered meanwhile."""
    stop = threading.Event()
    statuses: list[int] = []
    errors: list[BaseException] = []
    bodies = [HOSTILE[name] for name in ("90,000 attributes", "200,000 elements", "90,000 keys", "300,000 items")]

    def attack(body: bytes, headers: dict, url: str) -> None:
        try:
            with httpx.Client(timeout=60) as http:
                while not stop.is_set():
                    statuses.append(http.post(url, content=body, headers=headers).status_code)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    targets = urls(served)
    threads = [
        threading.Thread(target=attack, args=(body, headers, targets[route]))
        for (body, headers, _), route in zip(bodies, ["login", "chat/request", "login", "chat/request"])
    ]
    for thread in threads:
        thread.start()
    try:
        with httpx.Client(timeout=30) as http:
            while len(statuses) < 20 and not errors:
                assert http.get(f"{served.url}/health").status_code == 200
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors
    assert statuses and set(statuses) == {400}
