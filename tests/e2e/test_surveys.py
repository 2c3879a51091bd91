"""Surveys over HTTP: imported with the CLI, read in JSON and XML per kind (V5, V6, V22, A23), answered
(V7, V23, A24); bad answers get 400 and store nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from lxml import etree

from tests.e2e.conftest import ACCOUNT, Server, database_url, q, query
from tests.e2e.test_chat_resource import accepted_chat
from tests.unit.domain.test_survey import PRECHAT_EXAMPLE as PRECHAT  # server spec V5, JSON example

PUT = {"X-HTTP-Method-Override": "PUT"}

# server spec V22, JSON example, with one more question: a mandatory e-mail shown when "yes" is chosen
EXIT = {
    "survey": {
        "id": 361348,
        "title": "",
        "header": "",
        "questions": {
            "question": [
                {
                    "type": "Radio Button",
                    "validationType": "alpha_numeric",
                    "id": 4991315,
                    "logicId": 1,
                    "order": 0,
                    "mandatory": False,
                    "label": "Shall we e-mail you a copy of this chat?",
                    "entry": [
                        {"checked": False, "value": "yes", "displayValue": "Yes", "logic": {"showLogicId": 2}},
                        {"checked": False, "value": "no", "displayValue": "No"},
                    ],
                },
                {
                    "type": "Text Field",
                    "validationType": "email",
                    "id": 4991311,
                    "logicId": 2,
                    "order": 1,
                    "mandatory": True,
                    "label": "Your e-mail address:",
                    "lastKnownValue": "",
                },
            ]
        },
    }
}

OFFLINE = {
    "survey": {
        "id": 361346,
        "title": "",
        "header": "Send A Message",
        "questions": {
            "question": [
                {"id": 4991310, "type": "Text Field", "label": "Your name?", "mandatory": True},
                {
                    "id": 4991311,
                    "type": "Text Field",
                    "validationType": "email",
                    "label": "Your e-mail",
                    "mandatory": True,
                },
                {"id": 4991312, "type": "Text Area", "label": "Message", "mandatory": True},
            ]
        },
    }
}

AGENT = {
    "survey": {
        "id": 123,
        "header": "Wrap-up",
        "questions": {
            "question": {
                "id": 1,
                "type": "Checkbox",
                "label": "Topics",
                "mandatory": True,
                "entry": [{"value": "Billing"}, {"value": "Delivery"}],
            }
        },
    }
}


def parley(database, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args, "--database", database_url(database)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def import_survey(database, tmp_path, kind: str, document: dict, *flags: str) -> str:
    path = tmp_path / f"{kind}-{len(flags)}.json"
    path.write_text(json.dumps(document))
    result = parley(database, "survey", "import", "--account", ACCOUNT, "--kind", kind, *flags, str(path))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def submissions(database, kind: str) -> list[tuple]:
    return query(
        database,
        "SELECT chat_id, survey_id, answers, details FROM survey_submissions WHERE kind = $1 ORDER BY id",
        kind,
    )


@pytest.fixture
def surveyed(database, tmp_path):
    """A server whose demo account has a survey of every kind."""
    assert import_survey(database, tmp_path, "prechat", PRECHAT) == "40216"
    import_survey(database, tmp_path, "exit", EXIT)
    import_survey(database, tmp_path, "offline", OFFLINE, "--skill", "Sales")
    import_survey(database, tmp_path, "agent", AGENT)
    instance = Server(database).start()
    yield instance
    instance.stop()


def base(server) -> str:
    return f"{server.url}/api/account/{ACCOUNT}"


def test_pre_chat_survey_json_is_the_spec_example_with_string_scalars(surveyed, http):
    response = http.get(f"{base(surveyed)}/chat/preSurvey.json?{q()}")
    assert response.status_code == 200
    assert response.text == json.dumps(PRECHAT, separators=(",", ":"))  # values and member order
    # the documented double slash and a named survey that does not exist fall back to the default
    assert http.get(f"{base(surveyed)}/chat//preSurvey.json?{q('surveyName=none')}").json() == PRECHAT


def test_pre_chat_survey_xml_has_child_elements_and_repeats(surveyed, http):
    response = http.get(f"{base(surveyed)}/chat/preSurvey?{q()}")
    assert response.headers["content-type"].startswith("application/xml")
    survey = etree.fromstring(response.content)
    assert [c.tag for c in survey] == ["id", "title", "header", "questions"]
    assert survey.findtext("id") == "40216" and survey.find("title").text is None
    first, second = survey.find("questions").findall("question")
    assert [c.tag for c in first] == [
        "id",
        "logicId",
        "order",
        "mandatory",
        "type",
        "validationType",
        "label",
        "entry",
        "entry",
    ]
    assert first.find("entry/logic/showLogicId").text == "5"
    assert second.findtext("lastKnownValue") == "John"


def test_offline_survey_by_skill_and_404_without_one(surveyed, http):
    found = http.get(f"{base(surveyed)}/chat/offlineSurvey.json?{q('skill=Sales')}")
    assert found.status_code == 200
    survey = found.json()["survey"]
    assert (survey["id"], survey["header"]) == ("361346", "Send A Message")
    assert survey["questions"]["question"][1]["mandatory"] == "true"
    by_profile = http.get(f"{base(surveyed)}/chat/offlineSurvey.json?{q('visitorProfile=Sales&skill=Support')}")
    assert by_profile.json()["survey"]["id"] == "361346"
    missing = http.get(f"{base(surveyed)}/chat/offlineSurvey.json?{q('skill=Support')}")
    assert missing.status_code == 404 and missing.json()["error"]["internalCode"] == 12


def test_exit_survey_is_typed_with_display_values(surveyed, http):
    chat_uri, _ = accepted_chat(surveyed, http)
    response = http.get(f"{chat_uri}/exitSurvey.json?{q()}")
    assert response.status_code == 200
    assert response.text == json.dumps(EXIT, separators=(",", ":"))
    xml = etree.fromstring(http.get(f"{chat_uri}/exitSurvey.xml?{q()}").content)
    assert [e.findtext("displayValue") for e in xml.findall("questions/question/entry")] == ["Yes", "No"]
    assert xml.findtext("questions/question/mandatory") == "false"


def test_surveys_answer_404_when_none_is_configured(server, http):
    assert http.get(f"{base(server)}/chat/preSurvey.json?{q()}").status_code == 404
    chat_uri, _ = accepted_chat(server, http)
    response = http.get(f"{chat_uri}/exitSurvey.json?{q()}")
    assert response.status_code == 404 and response.json()["error"]["internalCode"] == 12


def test_offline_answers_are_stored_with_fields_beside_or_inside_the_survey(surveyed, http):
    answers = [
        {"id": 4991310, "answer": "Ann"},
        {"id": 4991311, "answer": "ann@example"},
        {"id": 4991312, "answer": "Please call"},
    ]
    beside = http.post(
        f"{base(surveyed)}/chat/offlineSurvey.json?{q()}",
        headers=PUT,
        json={"survey": {"id": 361346, "question": answers}, "skill": "Sales", "chatReferrer": "https://shop/p"},
    )
    assert (beside.status_code, beside.content) == (200, b"")
    inside = http.put(
        f"{base(surveyed)}/chat/offlineSurvey.json?{q()}",
        json={
            "survey": {"id": "361346", "question": answers, "chatRefferer": "https://shop/q", "LETagVisitorId": "v1"}
        },
    )
    assert (inside.status_code, inside.content) == (200, b"")
    stored = submissions(surveyed.database, "offline")
    assert len(stored) == 2
    first, second = (json.loads(row[3]) for row in stored)
    assert (first["skill"], first["chatReferrer"]) == ("Sales", "https://shop/p")
    assert (second["chatReferrer"], second["LETagVisitorId"]) == ("https://shop/q", "v1")
    assert [a["answer"] for a in json.loads(stored[0][2])] == [["Ann"], ["ann@example"], ["Please call"]]


def test_offline_answers_in_xml_with_a_wrapper_and_attribute_ids(surveyed, http):
    body = (
        b"<offlineSurvey><survey id='361346'><question id='4991310'><answer>Ann</answer></question>"
        b"<question><id>4991311</id><answer>ann@example.com</answer></question>"
        b"<question><id>4991312</id><answer>Hello</answer></question></survey><skill>Sales</skill>"
        b"</offlineSurvey>"
    )
    response = http.post(
        f"{base(surveyed)}/chat/offlineSurvey?{q()}", content=body, headers={**PUT, "Content-Type": "application/xml"}
    )
    assert response.status_code == 200, response.text
    ((_, survey_id, _, details),) = submissions(surveyed.database, "offline")
    assert survey_id == 361346 and json.loads(details)["skill"] == "Sales"


BAD_OFFLINE = [
    (
        {
            "survey": {
                "id": 361346,
                "question": [
                    {"id": 4991310, "answer": "Ann"},
                    {"id": 4991311, "answer": "a@b"},
                    {"id": 4991312, "answer": "x"},
                    {"id": 777, "answer": "?"},
                ],
            }
        },
        11,
    ),
    ({"survey": {"id": 361346, "question": [{"id": 4991310, "answer": "Ann"}, {"id": 4991311, "answer": "a@b"}]}}, 11),
    (
        {
            "survey": {
                "id": 361346,
                "question": [
                    {"id": 4991310, "answer": "Ann"},
                    {"id": 4991311, "answer": "no mail"},
                    {"id": 4991312, "answer": "x"},
                ],
            }
        },
        11,
    ),
    ({"survey": {"id": 5, "question": {"id": 4991310, "answer": "Ann"}}}, 11),
    ({"survey": {"question": {"id": 4991310, "answer": "Ann"}}}, 5),
    ({"answers": []}, 5),
]


def test_bad_offline_answers_get_400_and_store_nothing(surveyed, http):
    for body, code in BAD_OFFLINE:
        response = http.post(f"{base(surveyed)}/chat/offlineSurvey.json?{q()}", headers=PUT, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["internalCode"] == code, body
    assert submissions(surveyed.database, "offline") == []


def test_exit_survey_logic_validation_and_replacement(surveyed, http):
    chat_uri, _ = accepted_chat(surveyed, http)
    url = f"{chat_uri}/exitSurvey.json?{q()}"
    # "yes" reveals the mandatory e-mail question; "no" leaves it hidden and not required.
    refused = http.post(url, headers=PUT, json={"survey": {"id": 361348, "question": {"id": 4991315, "answer": "yes"}}})
    assert refused.status_code == 400 and refused.json()["error"]["internalCode"] == 11
    bad_mail = http.post(
        url,
        headers=PUT,
        json={
            "survey": {"id": 361348, "question": [{"id": 4991315, "answer": "yes"}, {"id": 4991311, "answer": "nope"}]}
        },
    )
    assert bad_mail.status_code == 400
    assert submissions(surveyed.database, "exit") == []
    first = http.post(
        url,
        headers=PUT,
        json={"survey": {"id": 361348, "question": {"id": 4991315, "answer": "no"}}, "userAgent": "test-agent"},
    )
    assert (first.status_code, first.content) == (200, b"")
    second = http.put(
        url,
        json={
            "survey": {
                "id": 361348,
                "question": [{"id": 4991315, "answer": "yes"}, {"id": 4991311, "answer": "me@example.com"}],
            }
        },
    )
    assert (second.status_code, second.content) == (200, b"")
    ((chat_id, survey_id, answers, _),) = submissions(surveyed.database, "exit")
    assert chat_id == chat_uri.rsplit("/", 1)[1] and survey_id == 361348
    assert [a["answer"] for a in json.loads(answers)] == [["yes"], ["me@example.com"]]


def test_exit_survey_structure_form_after_the_end(surveyed, http):
    chat_uri, _ = accepted_chat(surveyed, http)
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    structure = http.get(f"{chat_uri}/exitSurvey.json?{q()}").json()
    structure["survey"]["questions"]["question"][0]["entry"][1]["checked"] = True
    response = http.post(f"{chat_uri}/exitSurvey.json?{q()}", headers=PUT, json=structure)
    assert response.status_code == 200, response.text
    ((_, _, answers, _),) = submissions(surveyed.database, "exit")
    assert [a["answer"] for a in json.loads(answers)] == [["no"]]


def test_agent_survey_while_chatting_and_after_the_end(surveyed, http):
    _, agent_uri = accepted_chat(surveyed, http)
    bearer = http.post(f"{base(surveyed)}/login?v=1.3", json={"username": "natalie", "password": "natalie"}).json()
    auth = {"Authorization": f"Bearer {bearer['bearer']}"}
    survey = http.get(f"{agent_uri}/survey.json", headers=auth)
    assert survey.status_code == 200
    question = survey.json()["survey"]["questions"]["question"]
    assert (question["id"], question["mandatory"], question["type"]) == ("1", "true", "Checkbox")
    assert http.get(f"{agent_uri}/survey.json").status_code == 401
    empty = http.post(f"{agent_uri}/survey.json", headers={**auth, **PUT}, json={"survey": {"id": 123}})
    assert empty.status_code == 400
    both = http.post(
        f"{agent_uri}/survey.json",
        headers={**auth, **PUT},
        json={"survey": {"id": 123, "question": {"id": 1, "answer": ["Billing", "Delivery"]}}},
    )
    assert (both.status_code, both.content) == (200, b"")
    http.post(f"{agent_uri}/events.json", headers=auth, json={"event": {"@type": "state", "state": "ended"}})
    wrap_up = http.put(
        f"{agent_uri}/survey.json",
        headers=auth,
        json={"survey": {"id": 123, "question": {"id": 1, "answer": "Billing"}}},
    )
    assert wrap_up.status_code == 200
    ((_, _, answers, details),) = submissions(surveyed.database, "agent")
    assert json.loads(answers)[0]["answer"] == ["Billing"]
    assert json.loads(details)["agentName"] == "Natalie"


def test_cli_import_errors_and_environment_flags(database, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"survey": {"id": 1, "questions": {"question": {"id": 1, "type": "Slider"}}}}))
    result = parley(database, "survey", "import", "--account", ACCOUNT, "--kind", "exit", str(path))
    assert result.returncode == 2 and "type must be one of" in result.stderr
    path.write_text("{oops")
    result = parley(database, "survey", "import", "--account", ACCOUNT, "--kind", "exit", str(path))
    assert result.returncode == 2 and "valid JSON" in result.stderr
    path.write_text(json.dumps(AGENT))
    result = parley(
        database,
        "survey",
        "import",
        str(path),
        env={"PARLEY_ACCOUNT": ACCOUNT, "PARLEY_KIND": "agent", "PARLEY_SKILL": "Support"},
    )
    assert (result.returncode, result.stdout.strip()) == (0, "123")
    assert query(database, "SELECT kind, skill_id IS NOT NULL FROM survey_definitions") == [("agent", 1)]


def test_import_while_serving_is_seen_at_once(server, http, tmp_path):
    assert http.get(f"{base(server)}/chat/preSurvey.json?{q()}").status_code == 404
    import_survey(server.database, tmp_path, "prechat", PRECHAT)
    assert http.get(f"{base(server)}/chat/preSurvey.json?{q()}").json() == PRECHAT


def test_prechat_answers_in_the_chat_request(surveyed, http):
    bearer = http.post(f"{base(surveyed)}/login", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
    auth = {"Authorization": f"Bearer {bearer}"}
    session = http.post(f"{base(surveyed)}/agentSession.json", json={}, headers=auth).json()["agentSessionLocation"][
        "link"
    ]["@href"]
    bad = {"request": {"skill": "Sales", "survey": {"id": 40216, "question": [{"id": 12786273, "answer": "CATS"}]}}}
    refused = http.post(f"{base(surveyed)}/chat/request.json?{q()}", json=bad)  # "Your name?" is shown and mandatory
    assert refused.status_code == 400 and "location" not in refused.headers
    assert http.get(f"{session}/incomingRequests.json", headers=auth).json()["incomingRequests"]["ringingCount"] == "0"
    good = {
        "request": {
            "skill": "Sales",
            "survey": {
                "id": 40216,
                "question": [{"id": 12786273, "answer": "CATS"}, {"id": 16314710, "answer": "Ann"}],
            },
        }
    }
    created = http.post(f"{base(surveyed)}/chat/request.json?{q()}", json=good)
    assert created.status_code == 201
    chat = http.post(f"{session}/incomingRequests.json", json={}, headers=auth).json()["chatLocation"]["link"]["@href"]
    visit_href = http.get(f"{chat}.json", headers=auth).json()["chat"]["link"][5]["@href"]
    visit = http.get(f"{visit_href}.json", headers=auth).json()["visit"]
    answers = {item["id"]: item["answer"] for item in visit["preChatSurvey"]["survey"]["question"]}
    assert answers == {12786273: "CATS", 16314710: "Ann"}
    assert [row[1] for row in submissions(surveyed.database, "prechat")] == [40216]


def test_returning_visitor_sees_their_last_answers(surveyed, http):
    bearer = http.post(f"{base(surveyed)}/login", json={"username": "natalie", "password": "natalie"}).json()["bearer"]
    http.post(f"{base(surveyed)}/agentSession.json", json={}, headers={"Authorization": f"Bearer {bearer}"})
    answers = {"id": 40216, "question": [{"id": 12786273, "answer": "CATS"}, {"id": 16314710, "answer": "Ann"}]}
    created = http.post(f"{base(surveyed)}/chat/request.json?{q()}", json={"request": {"survey": answers}})
    visitor_id = http.get(f"{created.headers['location']}/info.json?{q()}").json()["info"]["visitorId"]

    def name_field(query: str) -> str:
        survey = http.get(f"{base(surveyed)}/chat/preSurvey.json?{q(query)}").json()["survey"]
        return next(x for x in survey["questions"]["question"] if x["id"] == "16314710")["lastKnownValue"]

    assert name_field(f"visitorId={visitor_id}") == "Ann"
    assert name_field("visitorId=123") == "John"  # unknown visitor: the imported default
    assert name_field("") == "John"
