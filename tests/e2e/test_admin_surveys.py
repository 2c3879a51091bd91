"""Surveys through the admin API and the CLI against a real server, on both stores: imported (JSON
and XML), listed by kind and skill, shown, deleted, and the visitor's survey requests following
each change at once."""

from __future__ import annotations

import json

import orjson

from tests.e2e.conftest import ACCOUNT, q, query
from tests.e2e.test_admin_api import ADMIN, admin_server, parley, refused  # noqa: F401  (a fixture)
from tests.e2e.test_surveys import EXIT
from tests.unit.domain.test_survey import PRECHAT_EXAMPLE as PRECHAT


def test_surveys_imported_listed_shown_and_deleted(admin_server, http, tmp_path):
    surveys, auth = f"{admin_server.url}{ADMIN}/accounts/{ACCOUNT}/surveys", admin_server.auth
    visitor = f"{admin_server.url}/api/account/{ACCOUNT}/chat"
    assert http.get(f"{visitor}/preSurvey.json?{q()}").status_code == 404
    assert http.get(surveys, headers=auth).json() == {"surveys": []}

    made = http.post(f"{surveys}?kind=prechat&name=Welcome", headers=auth, json=PRECHAT)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{surveys}/prechat/40216"
    created = made.json()["survey"]
    assert {k: v for k, v in created.items() if k != "importedAt"} == {
        "id": 40216,
        "kind": "prechat",
        "name": "Welcome",
        "title": "",
        "skill": None,
        "questions": len(PRECHAT["survey"]["questions"]["question"]),
    }
    # The visitor's very next request gets it, exactly as the spec's example.
    assert http.get(f"{visitor}/preSurvey.json?{q()}").text == json.dumps(PRECHAT, separators=(",", ":"))

    # XML in: the pre-chat survey as a visitor reads it in XML, imported as Sales' offline survey.
    xml = http.get(f"{visitor}/preSurvey?{q()}").content
    assert xml.lstrip().startswith(b"<")
    offline = http.post(
        f"{surveys}?kind=offline&skill=sales", headers={**auth, "Content-Type": "application/xml"}, content=xml
    )
    assert offline.status_code == 201, offline.text
    assert offline.json()["survey"]["skill"] == {"id": 1, "name": "Sales"}
    assert http.get(f"{visitor}/offlineSurvey.json?{q('skill=Sales')}").json() == PRECHAT
    assert http.post(f"{surveys}?kind=exit", headers=auth, json=EXIT).status_code == 201

    listed = http.get(surveys, headers=auth).json()["surveys"]
    assert [(s["kind"], s["id"], s["skill"] and s["skill"]["name"]) for s in listed] == [
        ("prechat", 40216, None),
        ("offline", 40216, "Sales"),
        ("exit", 361348, None),
    ]
    assert [s["kind"] for s in http.get(f"{surveys}?kind=exit", headers=auth).json()["surveys"]] == ["exit"]
    assert [s["kind"] for s in http.get(f"{surveys}?skill=Sales", headers=auth).json()["surveys"]] == ["offline"]
    shown = http.get(f"{surveys}/exit/361348", headers=auth).json()["survey"]
    assert shown["id"] == 361348 and shown["document"]["survey"]["questions"]["question"][1]["validationType"] == (
        "email"
    )

    # Garbage: each answered in the admin API's error body.
    assert refused(http.post(f"{surveys}?kind=poll", headers=auth, json=PRECHAT), 400)["internalCode"] == 11
    assert refused(http.post(surveys, headers=auth, json=PRECHAT), 400)["internalCode"] == 5
    assert refused(http.post(f"{surveys}?kind=exit", headers=auth), 400)["internalCode"] == 5
    assert refused(http.post(f"{surveys}?kind=exit&skill=Nope", headers=auth, json=EXIT), 400)["internalCode"] == 11
    assert refused(http.post(f"{surveys}?kind=exit", headers=auth, json={"survey": "x"}), 400)
    assert refused(http.get(f"{surveys}?kind=poll", headers=auth), 400)["internalCode"] == 11
    assert refused(http.get(f"{surveys}/exit/1", headers=auth), 404)["internalCode"] == 12
    assert refused(http.get(f"{surveys}/poll/1", headers=auth), 404)["internalCode"] == 12
    assert refused(http.get(f"{surveys}/exit/x", headers=auth), 404)["internalCode"] == 12
    nowhere = f"{admin_server.url}{ADMIN}/accounts/nope/surveys"
    assert refused(http.post(f"{nowhere}?kind=exit", headers=auth, json=EXIT), 404)["internalCode"] == 12
    assert refused(http.get(nowhere, headers=auth), 404)["internalCode"] == 12

    assert http.delete(f"{surveys}/prechat/40216", headers=auth).status_code == 204
    assert http.get(f"{visitor}/preSurvey.json?{q()}").status_code == 404  # at once
    assert http.get(f"{visitor}/offlineSurvey.json?{q('skill=Sales')}").status_code == 200  # another kind: kept
    assert refused(http.delete(f"{surveys}/prechat/40216", headers=auth), 404)["internalCode"] == 12
    assert query(admin_server.database, "SELECT kind FROM survey_definitions ORDER BY kind") == [
        ("exit",),
        ("offline",),
    ]

    # The CLI: list, show (a file import takes back), delete.
    listed = parley(admin_server.database, "survey", "list", "--account", ACCOUNT)
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["offline", "40216", "skill=1"],
        ["exit", "361348", "skill=-"],
    ]
    only = parley(admin_server.database, "survey", "list", "--account", ACCOUNT, "--kind", "exit").stdout
    assert only.startswith("exit\t361348") and len(only.splitlines()) == 1
    shown = parley(admin_server.database, "survey", "show", "--account", ACCOUNT, "--kind", "offline", "--id", "40216")
    assert shown.returncode == 0 and orjson.loads(shown.stdout)["survey"]["id"] == 40216
    copy = tmp_path / "offline.json"
    copy.write_text(shown.stdout)
    again = parley(admin_server.database, "survey", "import", "--account", ACCOUNT, "--kind", "prechat", str(copy))
    assert again.returncode == 0 and again.stdout.strip() == "40216", again.stderr
    assert http.get(f"{visitor}/preSurvey.json?{q()}").json() == PRECHAT  # read from the store per request
    deleted = parley(
        admin_server.database, "survey", "delete", "--account", ACCOUNT, "--kind", "exit", "--id", "361348"
    )
    assert deleted.returncode == 0 and "exit survey 361348" in deleted.stdout
    missing = parley(admin_server.database, "survey", "delete", "--account", ACCOUNT, "--kind", "exit", "--id", "1")
    assert missing.returncode != 0 and "no exit survey 1" in missing.stderr
    assert [s["kind"] for s in http.get(surveys, headers=auth).json()["surveys"]] == ["prechat", "offline"]
