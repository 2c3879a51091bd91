"""The survey document of server spec §9: parsing, rendering per kind, and answer checks.

Expected trees are the spec's own examples (V5, V22), not output of the code."""

from __future__ import annotations

import orjson
import pytest
from lxml import etree

from parley.domain.refusals import Invalid, Malformed
from parley.domain.survey import (
    AGENT,
    EXIT,
    OFFLINE,
    PRECHAT,
    Definition,
    Survey,
    check_answers,
    choose,
    document,
    parse_answers,
    parse_document,
    render,
    visible_questions,
)
from parley.wire import jsoncodec, xmlcodec

# server spec V5, JSON example
PRECHAT_EXAMPLE = {
    "survey": {
        "id": "40216",
        "title": "",
        "header": "Before we start, please tell us a little about you.",
        "questions": {
            "question": [
                {
                    "id": "12786273",
                    "logicId": "4",
                    "order": "0",
                    "mandatory": "true",
                    "type": "Dropdown Box",
                    "validationType": "alpha_numeric",
                    "label": "Which team do you need?",
                    "entry": [
                        {"value": "CATS", "checked": "false", "logic": {"showLogicId": "5"}},
                        {"value": "DOGS", "checked": "false"},
                    ],
                },
                {
                    "id": "16314710",
                    "logicId": "5",
                    "order": "1",
                    "mandatory": "true",
                    "type": "Text Field",
                    "validationType": "alpha_numeric",
                    "label": "Your name?",
                    "lastKnownValue": "John",
                },
            ]
        },
    }
}

# server spec V5, XML example (whitespace between elements removed)
PRECHAT_XML = (
    "<survey><id>40216</id><title/><header>Before we start, please tell us a little about you.</header>"
    "<questions><question><id>12786273</id><logicId>4</logicId><order>0</order><mandatory>true</mandatory>"
    "<type>Dropdown Box</type><validationType>alpha_numeric</validationType><label>Which team do you need?</label>"
    "<entry><value>CATS</value><checked>false</checked><logic><showLogicId>5</showLogicId></logic></entry>"
    "<entry><value>DOGS</value><checked>false</checked></entry></question>"
    "<question><id>16314710</id><logicId>5</logicId><order>1</order><mandatory>true</mandatory>"
    "<type>Text Field</type><validationType>alpha_numeric</validationType><label>Your name?</label>"
    "<lastKnownValue>John</lastKnownValue></question></questions></survey>"
)

# server spec V22, JSON example
EXIT_EXAMPLE = {
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
                        {"checked": False, "value": "yes", "displayValue": "Yes"},
                        {"checked": False, "value": "no", "displayValue": "No"},
                    ],
                },
                {
                    "type": "Text Field",
                    "validationType": "email",
                    "id": 4991311,
                    "logicId": 2,
                    "order": 1,
                    "mandatory": False,
                    "label": "Your e-mail address:",
                    "lastKnownValue": "",
                },
            ]
        },
    }
}


def as_json(tree: dict) -> dict:
    """What a client receives, keys in order."""
    return orjson.loads(jsoncodec.render(tree))


def ordered(value):
    """Dicts as lists of pairs, so equality also checks member order."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


@pytest.fixture
def prechat():
    return parse_document(PRECHAT_EXAMPLE)


# -- rendering --------------------------------------------------------------------------------


def test_prechat_renders_the_spec_example_with_strings_in_order(prechat):
    assert ordered(as_json(render(prechat, PRECHAT))) == ordered(PRECHAT_EXAMPLE)


@pytest.mark.parametrize("kind", [OFFLINE, AGENT])
def test_offline_and_agent_surveys_use_strings_too(prechat, kind):
    assert as_json(render(prechat, kind)) == PRECHAT_EXAMPLE


def test_prechat_renders_the_spec_xml(prechat):
    rendered = xmlcodec.render(render(prechat, PRECHAT))
    assert etree.tostring(etree.fromstring(rendered)) == etree.tostring(etree.fromstring(PRECHAT_XML.encode()))


def test_exit_renders_the_spec_example_typed_with_display_values():
    survey = parse_document(EXIT_EXAMPLE)
    assert ordered(as_json(render(survey, EXIT))) == ordered(EXIT_EXAMPLE)


def test_one_question_one_entry_and_one_logic_id_collapse_to_objects():
    survey = parse_document(
        {
            "survey": {
                "id": 7,
                "questions": {
                    "question": {
                        "id": 1,
                        "type": "Radio Button",
                        "label": "Pick",
                        "entry": {"value": "a", "logic": {"showLogicId": [1]}},
                    }
                },
            }
        }
    )
    question = as_json(render(survey, PRECHAT))["survey"]["questions"]["question"]
    assert isinstance(question, dict)
    assert question["entry"] == {"value": "a", "checked": "false", "logic": {"showLogicId": "1"}}


def test_several_show_logic_ids_stay_an_array():
    survey = parse_document(
        {
            "survey": {
                "id": 7,
                "questions": {
                    "question": [
                        {
                            "id": 1,
                            "logicId": 1,
                            "type": "Checkbox",
                            "entry": {"value": "a", "logic": {"showLogicId": [2, 3]}},
                        },
                        {"id": 2, "logicId": 2, "type": "Text Field"},
                        {"id": 3, "logicId": 3, "type": "Text Area"},
                    ]
                },
            }
        }
    )
    entry = as_json(render(survey, EXIT))["survey"]["questions"]["question"][0]["entry"]
    assert entry["logic"] == {"showLogicId": [2, 3]}


def test_text_questions_always_carry_last_known_value_and_selection_questions_never():
    survey = parse_document(
        {
            "survey": {
                "id": 1,
                "questions": {
                    "question": [
                        {"id": 1, "type": "Text Area"},
                        {"id": 2, "type": "Dropdown Box", "entry": {"value": "x"}},
                    ]
                },
            }
        }
    )
    first, second = as_json(render(survey, PRECHAT))["survey"]["questions"]["question"]
    assert first["lastKnownValue"] == "" and "entry" not in first
    assert "lastKnownValue" not in second and second["entry"]["value"] == "x"


# -- parsing the file form --------------------------------------------------------------------


def test_numbers_and_strings_parse_alike():
    assert parse_document(PRECHAT_EXAMPLE) == parse_document(
        {"survey": as_json(render(parse_document(PRECHAT_EXAMPLE), EXIT))["survey"]}
    )


def test_the_stored_form_reads_back_the_same(prechat):
    assert parse_document(orjson.loads(orjson.dumps(document(prechat)))) == prechat


def test_the_xml_file_form_parses(prechat):
    assert parse_document(xmlcodec.parse(PRECHAT_XML.encode())) == prechat


def test_a_survey_without_id_takes_the_one_given():
    survey = parse_document({"survey": {"questions": {"question": {"id": 1, "type": "Text Field"}}}}, new_id=99)
    assert survey.id == 99
    with pytest.raises(Malformed):
        parse_document({"survey": {"questions": {"question": {"id": 1, "type": "Text Field"}}}})


BAD_DOCUMENTS = [
    ({"survey": {"id": 1}}, Malformed),
    ({"survey": {"id": 1, "questions": {"question": {"type": "Text Field"}}}}, Malformed),
    ({"survey": {"id": 1, "questions": {"question": {"id": 1, "type": "Slider"}}}}, Invalid),
    ({"survey": {"id": 1, "questions": {"question": {"id": 1, "type": "Checkbox"}}}}, Invalid),
    (
        {"survey": {"id": 1, "questions": {"question": {"id": 1, "type": "Text Field", "entry": {"value": "a"}}}}},
        Invalid,
    ),
    (
        {
            "survey": {
                "id": 1,
                "questions": {"question": [{"id": 1, "type": "Text Field"}, {"id": 1, "type": "Text Area"}]},
            }
        },
        Invalid,
    ),
    (
        {
            "survey": {
                "id": 1,
                "questions": {
                    "question": {"id": 1, "type": "Radio Button", "entry": {"value": "a", "logic": {"showLogicId": 9}}}
                },
            }
        },
        Invalid,
    ),
    ({"survey": {"id": 1, "questions": {"question": {"id": 1, "type": "Text Field", "mandatory": "maybe"}}}}, Invalid),
    (
        {"survey": {"id": 1, "questions": {"question": {"id": 1, "type": "Text Field", "validationType": "phone"}}}},
        Invalid,
    ),
    ({"survey": {"id": "abc", "questions": {"question": {"id": 1, "type": "Text Field"}}}}, Invalid),
]


@pytest.mark.parametrize("bad, refusal", BAD_DOCUMENTS)
def test_bad_documents_are_refused(bad, refusal):
    with pytest.raises(refusal):
        parse_document(bad)


# -- answers -----------------------------------------------------------------------------------


def answers(content: dict) -> dict:
    return parse_answers(content)[1]


def test_answers_in_the_canonical_form(prechat):
    survey_id, given = parse_answers(
        {"id": 40216, "question": [{"id": 12786273, "answer": "CATS"}, {"id": "16314710", "answer": "Ann"}]}
    )
    assert survey_id == 40216
    checked = check_answers(prechat, given)
    assert [(a.question_id, a.values) for a in checked] == [(12786273, ("CATS",)), (16314710, ("Ann",))]
    assert checked[1].label == "Your name?"


def test_a_single_question_object_and_xml_attribute_ids(prechat):
    assert answers({"@id": "40216", "question": {"@id": "12786273", "answer": "DOGS"}}) == {12786273: ["DOGS"]}


def test_unknown_question_is_refused(prechat):
    with pytest.raises(Invalid):
        check_answers(prechat, {12786273: ["DOGS"], 555: ["x"]})


def test_missing_mandatory_answer_is_refused(prechat):
    with pytest.raises(Invalid):
        check_answers(prechat, {})


def test_a_question_hidden_by_logic_is_not_required(prechat):
    # "Your name?" (logicId 5) shows only when CATS is chosen.
    assert visible_questions(prechat, {12786273: ["DOGS"]}) == {12786273}
    assert [a.question_id for a in check_answers(prechat, {12786273: ["DOGS"]})] == [12786273]


def test_a_question_revealed_by_logic_is_required(prechat):
    assert visible_questions(prechat, {12786273: ["CATS"]}) == {12786273, 16314710}
    with pytest.raises(Invalid):
        check_answers(prechat, {12786273: ["CATS"]})
    assert len(check_answers(prechat, {12786273: ["CATS"], 16314710: ["Ann"]})) == 2


def test_a_selection_answer_must_be_one_of_its_entries(prechat):
    with pytest.raises(Invalid):
        check_answers(prechat, {12786273: ["BIRDS"]})


VALIDATED = parse_document(
    {
        "survey": {
            "id": 3,
            "questions": {
                "question": [
                    {"id": 1, "type": "Text Field", "validationType": "email", "mandatory": True},
                    {"id": 2, "type": "Text Field", "validationType": "numeric"},
                    {"id": 3, "type": "Checkbox", "entry": [{"value": "a"}, {"value": "b"}]},
                    {"id": 4, "type": "Radio Button", "entry": [{"value": "a"}, {"value": "b"}]},
                ]
            },
        }
    }
)


@pytest.mark.parametrize(
    "given",
    [
        {1: ["not an address"]},
        {1: ["a@b", "c@d"]},
        {1: ["a@b"], 2: ["12a"]},
        {1: ["a@b"], 4: ["a", "b"]},
        {1: ["a@b"], 3: ["a", "c"]},
    ],
)
def test_validation_types_and_answer_counts_are_enforced(given):
    with pytest.raises(Invalid):
        check_answers(VALIDATED, given)


def test_lenient_email_numbers_and_several_checkbox_answers_pass():
    checked = check_answers(VALIDATED, {1: ["email@domain"], 2: ["-12.5"], 3: ["a", "b"], 4: ["b"]})
    assert [a.values for a in checked] == [("email@domain",), ("-12.5",), ("a", "b"), ("b",)]


def test_checkbox_answers_may_be_an_array_and_blank_answers_count_as_none():
    assert answers({"id": 3, "question": [{"id": 3, "answer": ["a", "b"]}, {"id": 2, "answer": "  "}]}) == {
        3: ["a", "b"],
        2: [],
    }


def test_the_structure_form_answers_with_checked_entries_and_last_known_values(prechat):
    structure = as_json(render(prechat, EXIT))["survey"]
    structure["questions"]["question"][0]["entry"][0]["checked"] = True
    structure["questions"]["question"][1]["lastKnownValue"] = "Ann"
    assert answers(structure) == {12786273: ["CATS"], 16314710: ["Ann"]}
    structure["questions"]["question"][1]["lastKnownValue"] = ""
    with pytest.raises(Invalid):  # CATS shows "Your name?", now unanswered
        check_answers(prechat, answers(structure))


@pytest.mark.parametrize(
    "content, refusal",
    [
        ({"question": {"id": 1, "answer": "x"}}, Malformed),
        ({"id": 1, "question": {"answer": "x"}}, Malformed),
        ({"id": 1, "question": "x"}, Malformed),
        ({"id": 1, "question": [{"id": 1, "answer": "a"}, {"id": 1, "answer": "b"}]}, Invalid),
        ({"id": 1, "question": {"id": 1, "answer": {"nested": "x"}}}, Invalid),
        ({"id": 1, "question": {"id": 1, "answer": True}}, Invalid),
    ],
)
def test_malformed_answers_are_refused(content, refusal):
    with pytest.raises(refusal):
        parse_answers(content)


# -- which survey a client gets ----------------------------------------------------------------


def test_choose_by_name_then_id_then_skill_then_default(prechat):
    def definition(skill_id, name, survey_id):
        return Definition(PRECHAT, skill_id, name, Survey(survey_id, "", "", prechat.questions))

    default, sales, support = definition(None, "Default", 1), definition(10, "Sales", 2), definition(11, "Help", 3)
    defined = [default, sales, support]
    assert choose(defined, name="help", survey_id=2, skill_id=10) is support
    assert choose(defined, name="nothing", survey_id=2, skill_id=11) is sales
    assert choose(defined, survey_id=99, skill_id=11) is support
    assert choose(defined, skill_id=12) is default
    assert choose(defined) is default
    assert choose([sales], skill_id=11) is None
