"""Credentials mean what they say (issue 8, findings 3-5): a chat-request key never hands one
client's chat to another, an agent's bearer is no visitor credential for chats its user did not
request, and an agent who no longer holds a chat cannot reach it through anything it learned."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.conftest import ACCOUNT, Server, q
from tests.e2e.test_agent_api import Agent


def client_at(address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x address is loopback on Linux)."""
    return httpx.Client(timeout=20, transport=httpx.HTTPTransport(local_address=address))


def request_chat(client: httpx.Client, server, key: str | None = None, **headers) -> httpx.Response:
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        f"{server.url}/api/account/{ACCOUNT}/chat/request.json?{q()}",
        json={"request": {"skill": "Sales"}},
        headers=headers,
    )


def refused(response: httpx.Response, status: int, code: int) -> bool:
    return response.status_code == status and response.json()["error"]["internalCode"] == code


# -- finding 3: the chat-request Idempotency-Key ---------------------------------------------


def test_a_second_client_with_the_same_key_gets_no_chat_of_the_first(server, http):
    key = str(uuid.uuid4())
    with client_at("127.0.0.1") as first, client_at("127.0.0.2") as second:
        mine = request_chat(first, server, key)
        theirs = request_chat(second, server, key)
        assert mine.status_code == theirs.status_code == 201
        assert mine.headers["location"] != theirs.headers["location"]
        # Each client's own retry still gets its own chat back, and nothing else.
        assert request_chat(first, server, key).headers["location"] == mine.headers["location"]
        assert request_chat(second, server, key).headers["location"] == theirs.headers["location"]
        # Same address, but an agent's bearer: another caller, so another chat.
        natalie = Agent(server, http)
        as_agent = request_chat(first, server, key, **natalie.auth)
        assert as_agent.status_code == 201
        assert as_agent.headers["location"] not in (mine.headers["location"], theirs.headers["location"])


def test_behind_a_trusted_proxy_the_forwarded_client_scopes_the_key(database, http):
    server = Server(database, "--trusted-proxies", "127.0.0.1/32").start()
    try:
        key = str(uuid.uuid4())
        first = request_chat(http, server, key, **{"X-Forwarded-For": "203.0.113.5"})
        again = request_chat(http, server, key, **{"X-Forwarded-For": "203.0.113.5"})
        other = request_chat(http, server, key, **{"X-Forwarded-For": "203.0.113.6"})
        assert first.headers["location"] == again.headers["location"]
        assert other.status_code == 201 and other.headers["location"] != first.headers["location"]
    finally:
        server.stop()


@pytest.mark.parametrize("key", ["r-1", "1", "123456789012345", "k" * 15])
def test_guessable_chat_request_keys_are_refused(server, http, key):
    natalie = Agent(server, http)
    answer = request_chat(http, server, key)
    assert refused(answer, 400, 11) and "Idempotency-Key" in answer.json()["error"]["message"]
    assert natalie.get("/incomingRequests").json()["incomingRequests"]["ringingCount"] == "0"  # nothing created
    assert request_chat(http, server, "0123456789abcdef").status_code == 201  # 16 characters are enough


# -- finding 4: an agent's bearer on the visitor side ------------------------------------------


def test_an_agent_bearer_opens_only_chats_its_user_requested(server, http):
    natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")
    foreign = request_chat(http, server).headers["location"]
    for method, path, body in [
        ("GET", "", None),
        ("GET", "/events", None),
        ("GET", "/info", None),
        ("POST", "/events", {"event": {"@type": "line", "text": "as the visitor"}}),
    ]:
        answer = http.request(method, f"{foreign}{path}.json?v=1", json=body, headers=natalie.auth)
        assert refused(answer, 403, 10), (method, path, answer.text)
    texts = [e.get("text") for e in http.get(f"{foreign}/events.json?{q()}").json()["events"]["event"]]
    assert "as the visitor" not in texts

    own = request_chat(http, server, **natalie.auth).headers["location"]
    line = {"event": {"@type": "line", "text": "asked with my bearer"}}
    assert http.post(f"{own}/events.json?v=1", json=line, headers=natalie.auth).status_code == 201
    assert http.get(f"{own}.json?v=1", headers=natalie.auth).status_code == 200
    assert refused(http.get(f"{own}.json?v=1", headers=bob.auth), 403, 10)
    server.restart()  # who requested the chat is stored with it
    natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")
    assert http.get(f"{own}/info.json?v=1", headers=natalie.auth).status_code == 200
    assert refused(http.get(f"{own}/info.json?v=1", headers=bob.auth), 403, 10)


# -- finding 5: the former agent ----------------------------------------------------------------


class Recorder:
    """Everything one agent's client was ever told: bodies and headers."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.seen.append(response.text + repr(dict(response.headers)))

    def told(self, secret: str) -> bool:
        return any(secret in text for text in self.seen)


def test_the_former_agent_after_a_transfer_is_refused_and_never_learned_the_visitor_uri(server, http):
    recorder = Recorder()
    with httpx.Client(timeout=20, event_hooks={"response": [recorder]}) as watched:
        natalie, bob = Agent(server, watched), Agent(server, http, "bob", "bob-secret")
        bob.put("/availability", {"availability": {"chat": "Away"}})
        chat_uri = request_chat(http, server).headers["location"]
        chat_id = chat_uri.rsplit("/", 1)[1]
        accept = {**natalie.auth, "Idempotency-Key": "accept-1"}
        taken = watched.post(f"{natalie.session}/incomingRequests.json", json={}, headers=accept)
        mine = taken.json()["chatLocation"]["link"]["@href"]
        # Everything the agent side offers about the chat, read the way clients read it.
        chat = watched.get(f"{mine}.json", headers=natalie.auth).json()["chat"]
        for link in chat["link"]:
            watched.get(f"{link['@href'].split('?')[0]}.json", headers=natalie.auth)
        key = chat["info"]["chatSessionKey"]
        assert key == mine.rsplit("/", 1)[1] and key != chat_id
        natalie.get("/chatSessions")
        natalie.get("/chat", chatSessionKeys=key)
        watched.get(f"{natalie.session}.json?cs=1", headers=natalie.auth)

        bob.put("/availability", {"availability": {"chat": "Online"}})
        moved = watched.post(f"{mine}/transfer.json", json={"transfer": {"skill": {"id": 2}}}, headers=natalie.auth)
        assert moved.status_code == 200
        bobs = bob.post(f"{bob.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
        assert bobs.rsplit("/", 1)[1] not in (key, chat_id)

        for method, path, body in [
            ("GET", "", None),
            ("GET", "/events", None),
            ("GET", "/info", None),
            ("GET", "/events/0", None),
            ("POST", "/events", {"event": {"@type": "line", "text": "still here?"}}),
            ("GET", "/transfer", None),
            ("GET", "/survey", None),
            ("GET", "/collaborationChannels", None),
        ]:
            answer = watched.request(method, f"{mine}{path}.json", json=body, headers=natalie.auth)
            assert refused(answer, 404, 12), (method, path, answer.text)
        retried = watched.post(f"{natalie.session}/incomingRequests.json", json={}, headers=accept)
        assert refused(retried, 404, 12)  # a retried accept does not hand over the new agent's URI
        assert natalie.get("/chatSessions").json() == {"chatSessions": {}}
        visitor_side = watched.get(f"{chat_uri}.json?v=1", headers=natalie.auth)  # even if it had guessed it
        assert refused(visitor_side, 403, 10)
        with_app_key = http.get(f"{server.url}/api/account/{ACCOUNT}/chat/{key}.json?{q()}")
        assert refused(with_app_key, 404, 12)  # the agent-side key is no visitor URI

    assert recorder.seen and not recorder.told(chat_id)
    assert not recorder.told(bobs.rsplit("/", 1)[1])
    texts = [e.get("text") for e in http.get(f"{chat_uri}/events.json?{q()}").json()["events"]["event"]]
    assert "still here?" not in texts


def test_the_former_agent_after_a_requeue_is_refused(server, http):
    natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")
    bob.put("/availability", {"availability": {"chat": "Away"}})
    request_chat(http, server)
    mine = natalie.post(f"{natalie.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    bob.put("/availability", {"availability": {"chat": "Online"}})
    assert http.delete(f"{natalie.session}.json", headers=natalie.auth).status_code == 200  # requeued
    bobs = bob.post(f"{bob.session}/incomingRequests", {}).json()["chatLocation"]["link"]["@href"]
    again = Agent(server, http)  # natalie's new session, same user
    old_key = mine.rsplit("/", 1)[1]
    assert refused(http.get(f"{again.session}/chat/{old_key}.json", headers=again.auth), 404, 12)
    assert refused(http.get(f"{mine}.json", headers=again.auth), 404, 12)
    # What it knew opens nothing on the visitor side either, with the public app key.
    assert refused(http.get(f"{server.url}/api/account/{ACCOUNT}/chat/{old_key}.json?{q()}"), 404, 12)
    assert http.get(f"{bobs}.json", headers=bob.auth).status_code == 200
