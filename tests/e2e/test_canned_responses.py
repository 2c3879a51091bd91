"""Canned responses over HTTP (a parley extension beside the Chat Agent API): one list per account,
read and managed by its agents through their agent sessions, in JSON and XML; refused to anyone
else; bounded in size and count."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from parley.domain.canned import MAX_PER_ACCOUNT, MAX_TEXT, MAX_TITLE
from tests.e2e.conftest import ACCOUNT, KEY, shared_server
from tests.e2e.test_agent_api import Agent

OTHER_ACCOUNT = "777"


async def _people(admin) -> None:
    await admin.create_agent(ACCOUNT, "bob", "bob-secret", "Bob", ["Sales", "Support"], 2)
    await admin.create_account(OTHER_ACCOUNT)
    await admin.create_skill(OTHER_ACCOUNT, "Sales")
    await admin.create_agent(OTHER_ACCOUNT, "oscar", "oscar-secret", "Oscar", ["Sales"], 4)


@pytest.fixture(scope="module")
def server(tmp_path_factory, backend):  # after the backend is chosen, so [postgres] runs on it
    yield from shared_server(tmp_path_factory.mktemp("canned"), extra=_people)


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def natalie(server, http):
    """One login for the module: logins are rate-limited per address."""
    return Agent(server, http)


def items(body: dict) -> list[dict]:
    found = body["cannedResponses"].get("cannedResponse", [])
    return found if isinstance(found, list) else [found]


def test_create_read_and_delete_in_json(server, http):
    natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")
    created = natalie.post(
        f"{natalie.session}/cannedResponses",
        {"cannedResponse": {"title": "Greeting", "text": "Hello! <b>How</b> can I help?"}},
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith(f"{natalie.session}/cannedResponses/")
    assert created.json() == {"cannedResponseLocation": {"link": {"@href": location, "@rel": "location"}}}

    # Every agent of the account sees it, through its own session.
    mine = [item for item in items(bob.get("/cannedResponses").json()) if item["title"] == "Greeting"]
    assert (
        len(mine) == 1 and mine[0]["text"] == "Hello! <b>How</b> can I help?"
    )  # stored as given: the console shows text
    assert list(mine[0]) == ["@id", "link", "title", "text"]
    assert mine[0]["link"]["@href"] == f"{bob.session}/cannedResponses/{mine[0]['@id']}"
    one = http.get(f"{location}.json", headers=natalie.auth)
    assert one.status_code == 200 and one.json()["cannedResponse"]["title"] == "Greeting"

    deleted = http.delete(f"{bob.session}/cannedResponses/{mine[0]['@id']}.json", headers=bob.auth)
    assert deleted.status_code == 200 and deleted.content == b""
    assert all(item["title"] != "Greeting" for item in items(natalie.get("/cannedResponses").json()))
    for again in (
        http.get(f"{location}.json", headers=natalie.auth),
        http.post(f"{location}.json", headers={**natalie.auth, "X-HTTP-Method-Override": "DELETE"}),
    ):
        assert again.status_code == 404 and again.json()["error"]["internalCode"] == 12


def test_xml_both_ways(server, http, natalie):
    created = http.post(
        f"{natalie.session}/cannedResponses",
        headers={**natalie.auth, "Content-Type": "application/xml"},
        content=b"<cannedResponse><title>Bye</title><text>Thanks &amp; goodbye</text></cannedResponse>",
    )
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/xml"
    link = etree.fromstring(created.content).find("link")
    assert (link.get("href"), link.get("rel")) == (created.headers["location"], "location")
    listed = http.get(f"{natalie.session}/cannedResponses.xml", headers=natalie.auth)
    root = etree.fromstring(listed.content)
    assert root.tag == "cannedResponses" and root.find("link").get("rel") == "self"
    bye = [e for e in root.findall("cannedResponse") if e.findtext("title") == "Bye"]
    assert len(bye) == 1 and bye[0].findtext("text") == "Thanks & goodbye" and bye[0].get("id").isdigit()


def test_a_missing_title_is_the_first_line_of_the_text(server, http, natalie):
    created = natalie.post(
        f"{natalie.session}/cannedResponses", {"cannedResponse": {"text": "Order status\nIt ships today."}}
    )
    body = http.get(created.headers["location"] + ".json", headers=natalie.auth).json()["cannedResponse"]
    assert (body["title"], body["text"]) == ("Order status", "Order status\nIt ships today.")


def test_refused_to_everyone_but_the_accounts_agents(server, http):
    natalie, bob = Agent(server, http), Agent(server, http, "bob", "bob-secret")
    oscar = Agent(server, http, "oscar", "oscar-secret", OTHER_ACCOUNT)
    created = natalie.post(f"{natalie.session}/cannedResponses", {"cannedResponse": {"text": "Only for us"}})
    location = created.headers["location"]
    canned_id = location.rsplit("/", 1)[1]
    attempts = [
        ("no credential", "GET", f"{natalie.session}/cannedResponses.json", {}, 401),
        ("the app key", "GET", f"{natalie.session}/cannedResponses.json?appKey={KEY}", {}, 401),
        ("another agent on this session", "GET", f"{natalie.session}/cannedResponses.json", bob.auth, 401),
        ("another agent deleting on this session", "DELETE", f"{location}.json", bob.auth, 401),
        ("another account's bearer", "POST", f"{natalie.session}/cannedResponses.json", oscar.auth, 401),
        (
            "another account's agent, own session",
            "DELETE",
            f"{oscar.session}/cannedResponses/{canned_id}.json",
            oscar.auth,
            404,
        ),
        (
            "another account's agent, own session, reading",
            "GET",
            f"{oscar.session}/cannedResponses/{canned_id}.json",
            oscar.auth,
            404,
        ),
    ]
    for who, method, url, headers, status in attempts:
        body = {"cannedResponse": {"text": "intruder"}} if method == "POST" else None
        answer = http.request(method, url, headers=headers, json=body)
        assert answer.status_code == status, (who, answer.text)
        assert isinstance(answer.json()["error"]["internalCode"], int), who
    assert all(item["text"] != "Only for us" for item in items(oscar.get("/cannedResponses").json()))
    assert [i["text"] for i in items(natalie.get("/cannedResponses").json())].count("Only for us") == 1
    assert all(item["text"] != "intruder" for item in items(natalie.get("/cannedResponses").json()))


@pytest.mark.parametrize(
    "body, message",
    [
        ({"cannedResponse": {"title": "t", "text": "  "}}, "non-blank"),
        ({"cannedResponse": {"title": "t"}}, "non-blank"),
        ({"cannedResponse": {"title": "t", "text": "x" * (MAX_TEXT + 1)}}, f"longer than {MAX_TEXT}"),
        ({"cannedResponse": {"title": "t" * (MAX_TITLE + 1), "text": "x"}}, f"longer than {MAX_TITLE}"),
        ({"cannedResponse": {"title": "t", "text": {"nested": 1}}}, "must be a string"),
        ({"cannedResponse": {"title": "t", "text": "a\x00b"}}, "NUL"),
        ({"cannedResponse": "just text"}, "non-blank"),
        ({"somethingElse": {}}, "cannedResponse"),
    ],
)
def test_bad_values_get_400_and_store_nothing(server, http, natalie, body, message):
    before = items(natalie.get("/cannedResponses").json())
    answer = natalie.post(f"{natalie.session}/cannedResponses", body)
    assert answer.status_code == 400 and message in answer.json()["error"]["message"], answer.text
    assert items(natalie.get("/cannedResponses").json()) == before


def test_broken_bodies_and_ids(server, http, natalie):
    broken = http.post(
        f"{natalie.session}/cannedResponses.json",
        headers={**natalie.auth, "Content-Type": "application/json"},
        content=b'{"cannedResponse": {"text": ',
    )
    assert broken.status_code == 400 and broken.json()["error"]["internalCode"] == 5
    for odd in ("abc", "-1", "99999999999999999999999", "1.5"):
        answer = http.get(f"{natalie.session}/cannedResponses/{odd}.json", headers=natalie.auth)
        assert answer.status_code == 404 and answer.json()["error"]["internalCode"] == 12, odd


def test_an_account_keeps_a_bounded_number(server, http):
    oscar = Agent(server, http, "oscar", "oscar-secret", OTHER_ACCOUNT)
    have = len(items(oscar.get("/cannedResponses").json()))
    for n in range(MAX_PER_ACCOUNT - have):
        assert oscar.post(f"{oscar.session}/cannedResponses", {"cannedResponse": {"text": f"n{n}"}}).status_code == 201
    refused = oscar.post(f"{oscar.session}/cannedResponses", {"cannedResponse": {"text": "one too many"}})
    assert refused.status_code == 403 and str(MAX_PER_ACCOUNT) in refused.json()["error"]["message"]
    listed = items(oscar.get("/cannedResponses").json())
    assert len(listed) == MAX_PER_ACCOUNT and listed[-1]["text"] != "one too many"
    # Deleting one frees a place.
    assert http.delete(listed[0]["link"]["@href"] + ".json", headers=oscar.auth).status_code == 200
    assert oscar.post(f"{oscar.session}/cannedResponses", {"cannedResponse": {"text": "fits again"}}).status_code == 201
