"""Survey import, lookup and submissions over a real store."""

from __future__ import annotations

import sqlite3

import pytest

from parley.domain.refusals import Invalid, NotFound
from parley.domain.survey import EXIT, OFFLINE, PRECHAT
from parley.services.accounts import DEMO_ACCOUNT, Admin
from parley.services.surveys import Surveys, check_prechat_answers, import_survey, store_prechat_answers

from .steps import skill_id, start_chat

OFFLINE_DOC = {
    "survey": {
        "id": 361346,
        "header": "Send A Message",
        "questions": {
            "question": [
                {"id": 4991310, "type": "Text Field", "label": "Your name?", "mandatory": True},
                {"id": 4991311, "type": "Text Field", "validationType": "email", "label": "Your e-mail"},
                {"id": 4991312, "type": "Text Area", "label": "Message", "mandatory": True},
            ]
        },
    }
}


def count(db_path: str, table: str) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def survey_with_id(survey_id: int, header: str = "") -> dict:
    return {
        "survey": {
            "id": survey_id,
            "header": header,
            "questions": {"question": {"id": 1, "type": "Text Field", "label": "Name"}},
        }
    }


async def test_lookup_prefers_name_then_id_then_skill_then_default(engine):
    store = engine.store
    await import_survey(store, DEMO_ACCOUNT, PRECHAT, survey_with_id(1, "default"))
    await import_survey(store, DEMO_ACCOUNT, PRECHAT, survey_with_id(2, "sales"), skill="Sales", name="Sales form")
    surveys = Surveys(engine)
    assert (await surveys.find(DEMO_ACCOUNT, PRECHAT)).header == "default"
    assert (await surveys.find(DEMO_ACCOUNT, PRECHAT, skill_name="sales")).header == "sales"
    assert (await surveys.find(DEMO_ACCOUNT, PRECHAT, skill_name="Support")).header == "default"
    assert (await surveys.find(DEMO_ACCOUNT, PRECHAT, survey_id=2)).header == "sales"
    assert (await surveys.find(DEMO_ACCOUNT, PRECHAT, name="sales form", skill_name="Support")).header == "sales"
    with pytest.raises(NotFound):
        await surveys.find(DEMO_ACCOUNT, EXIT)


async def test_reimport_replaces_the_survey_of_its_slot(engine, db_path):
    await import_survey(engine.store, DEMO_ACCOUNT, EXIT, survey_with_id(5, "first"))
    await import_survey(engine.store, DEMO_ACCOUNT, EXIT, survey_with_id(6, "second"))
    assert (await Surveys(engine).find(DEMO_ACCOUNT, EXIT)).header == "second"
    assert count(db_path, "survey_definitions") == 1


async def test_import_refusals(engine, db_path):
    await import_survey(engine.store, DEMO_ACCOUNT, EXIT, survey_with_id(5))
    with pytest.raises(Invalid):  # one id, one survey per kind
        await import_survey(engine.store, DEMO_ACCOUNT, EXIT, survey_with_id(5), skill="Sales")
    with pytest.raises(Invalid):
        await import_survey(engine.store, DEMO_ACCOUNT, EXIT, survey_with_id(7), skill="Nope")
    with pytest.raises(Invalid):
        await import_survey(engine.store, "nope", EXIT, survey_with_id(7))
    with pytest.raises(Invalid):
        await import_survey(engine.store, DEMO_ACCOUNT, "poll", survey_with_id(7))
    assert count(db_path, "survey_definitions") == 1


async def test_offline_message_is_stored_and_mailed_in_one_go(engine, db_path):
    await import_survey(engine.store, DEMO_ACCOUNT, OFFLINE, OFFLINE_DOC)
    surveys = Surveys(engine)
    answer = {"id": 361346, "question": [{"id": 4991310, "answer": "Ann"}, {"id": 4991312, "answer": "Call me"}]}
    assert await surveys.submit_offline(DEMO_ACCOUNT, answer, {"skill": "Sales"}) is False
    assert (count(db_path, "survey_submissions"), count(db_path, "outbox")) == (1, 0)

    await Admin(engine.store).update_account(DEMO_ACCOUNT, offline_email="sales@example.com")
    await engine.reload_directory()
    assert await surveys.submit_offline(DEMO_ACCOUNT, answer, {"skill": "Sales"}) is True
    assert (count(db_path, "survey_submissions"), count(db_path, "outbox")) == (2, 1)
    stored = await surveys.store.submissions(DEMO_ACCOUNT, OFFLINE)
    assert [a.values for a in stored[-1].answers] == [("Ann",), ("Call me",)]
    assert stored[-1].details == {"skill": "Sales"}


async def test_bad_offline_answers_store_nothing(engine, db_path):
    await import_survey(engine.store, DEMO_ACCOUNT, OFFLINE, OFFLINE_DOC)
    await Admin(engine.store).update_account(DEMO_ACCOUNT, offline_email="sales@example.com")
    await engine.reload_directory()
    for bad in (
        {"id": 361346, "question": {"id": 4991310, "answer": "Ann"}},
        {"id": 999, "question": {"id": 4991310, "answer": "Ann"}},
        {
            "id": 361346,
            "question": [
                {"id": 4991310, "answer": "Ann"},
                {"id": 4991312, "answer": "x"},
                {"id": 4991311, "answer": "not-mail"},
            ],
        },
    ):
        with pytest.raises(Invalid):
            await Surveys(engine).submit_offline(DEMO_ACCOUNT, bad, {})
    assert (count(db_path, "survey_submissions"), count(db_path, "outbox")) == (0, 0)


async def test_exit_answers_replace_earlier_ones_of_the_chat(engine, visitors):
    await import_survey(engine.store, DEMO_ACCOUNT, EXIT, survey_with_id(8))
    chat = await start_chat(visitors)
    surveys = Surveys(engine)
    await surveys.submit_exit(chat, {"id": 8, "question": {"id": 1, "answer": "Ann"}}, {})
    await surveys.submit_exit(chat, {"id": 8, "question": {"id": 1, "answer": "Bob"}}, {})
    submission = await surveys.answers_of(chat, EXIT)
    assert submission.answers[0].values == ("Bob",)
    assert len(await surveys.store.submissions(DEMO_ACCOUNT, EXIT, chat.id)) == 1


async def test_prechat_answers_are_checked_before_and_stored_with_the_chat(engine, visitors):
    await import_survey(engine.store, DEMO_ACCOUNT, PRECHAT, survey_with_id(9), skill="Sales")
    with pytest.raises(Invalid):
        await check_prechat_answers(engine, DEMO_ACCOUNT, {"id": 9, "question": {"id": 2, "answer": "x"}})
    content = {"id": 9, "question": {"id": 1, "answer": "Ann"}}
    assert [a.values for a in await check_prechat_answers(engine, DEMO_ACCOUNT, content)] == [("Ann",)]
    chat = await start_chat(visitors)
    assert chat.skill_id == skill_id(engine, "Sales")
    await store_prechat_answers(engine, chat, content)
    assert (await Surveys(engine).answers_of(chat, PRECHAT)).answers[0].label == "Name"
