"""/metrics: who may read it, and that its numbers follow what happens (in process)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from parley.config import Settings
from parley.http import push
from parley.wire import errors
from tests.unit.conftest import log_in
from tests.unit.http.conftest import ACCOUNT_URL, APP_KEY, client


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


async def scrape(http) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_a_loopback_client_reads_the_metrics_a_remote_one_does_not(app):
    async with client(app) as local:
        assert (await local.get("/metrics")).status_code == 200
        proxied = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403 and proxied.json()["error"]["internalCode"] == errors.UNAUTHORIZED
    async with client(app, "203.0.113.9") as remote:
        refused = await remote.get("/metrics")
    assert refused.status_code == 403 and "metrics-token" in refused.json()["error"]["message"]


async def test_with_a_token_only_its_bearer_reads_them_from_anywhere(engine):
    from parley.http.app import create_app

    engine.settings = Settings(database=engine.settings.database, metrics_token="s3cret-scrape")
    app = create_app(engine.settings, engine)
    async with client(app, "203.0.113.9") as remote:
        assert (await remote.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})).status_code == 200
        for wrong in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic s3cret-scrape"}):
            refused = await remote.get("/metrics", headers=wrong)
            assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    async with client(app) as local:  # loopback too: the token is the rule once set
        assert (await local.get("/metrics")).status_code == 401


async def test_requests_are_counted_by_route_pattern_and_status_class(http, agents, account_id):
    await log_in(agents)  # someone can take the chat: it waits (rings) instead of ending
    created = await http.post(f"{ACCOUNT_URL}/chat/request.json?v=1&{APP_KEY}", json={"request": {"skill": "Sales"}})
    assert created.status_code == 201
    chat_url = created.headers["location"]
    chat_id = chat_url.rsplit("/", 1)[1]
    for _ in range(3):
        assert (await http.get(f"{chat_url}/events.json?v=1&{APP_KEY}")).status_code == 200
    assert (await http.get(f"{ACCOUNT_URL}/chat/H1-0K1/events.json?v=1&{APP_KEY}")).status_code == 404
    text = await scrape(http)
    assert chat_id not in text  # the pattern, never the secret
    events = "/api/account/{account_id}/chat/{chat_id:chat}/events"
    assert value(text, "parley_requests_total", route=events, status="2xx") == 3
    assert value(text, "parley_requests_total", route=events, status="4xx") == 1
    assert value(text, "parley_request_duration_seconds_count", route=events, status="2xx") == 3
    assert value(text, "parley_request_duration_seconds_bucket", route=events, status="2xx", le="+Inf") == 3
    assert value(text, "parley_requests_total", route="/api/account/{account_id}/chat/request", status="2xx") == 1
    assert value(text, "parley_open_chats", state="waiting") == 1
    assert value(text, "parley_waiting_chats", account=account_id, skill="Sales") == 1
    assert value(text, "parley_oldest_wait_seconds", account=account_id, skill="Sales") == 0
    assert value(text, "parley_agents", account=account_id, availability="Online") == 1
    assert value(text, "parley_rings_total") == 1


async def test_an_agent_without_a_session_is_offline(http, account_id):
    assert value(await scrape(http), "parley_agents", account=account_id, availability="Offline") == 1


async def test_the_oldest_wait_follows_the_clock(http, agents, clock, account_id):
    await log_in(agents)
    await http.post(f"{ACCOUNT_URL}/chat/request.json?v=1&{APP_KEY}", json={"request": {"skill": "Sales"}})
    clock.advance(42)
    text = await scrape(http)
    assert value(text, "parley_oldest_wait_seconds", account=account_id, skill="Sales") == 42


async def test_held_gauges_follow_the_capacity(http, engine):
    held = push.capacity(engine)
    assert value(await scrape(http), "parley_held_requests", kind="poll") == 0
    held.take()
    held.take()
    held.streams += 1
    text = await scrape(http)
    assert value(text, "parley_held_requests", kind="poll") == 1
    assert value(text, "parley_held_requests", kind="stream") == 1
    assert value(text, "parley_held_requests_limit") == held.limit


async def test_store_commits_count_the_writes_of_a_chat(http, agents):
    await log_in(agents)
    before = await scrape(http)
    created = await http.post(f"{ACCOUNT_URL}/chat/request.json?v=1&{APP_KEY}", json={"request": {"skill": "Sales"}})
    assert created.status_code == 201
    after = await scrape(http)
    assert value(after, "parley_store_commits_total") > value(before, "parley_store_commits_total")
    assert value(after, "parley_store_writes_total") >= value(after, "parley_store_commits_total")
    assert value(after, "parley_node_leader") is None  # one process: no cluster, no role
