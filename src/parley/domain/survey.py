"""The survey document (server spec §9): its file form, its wire form per kind, and answer checks.

Pre-chat (V5), offline (V6) and agent (A23) surveys render every scalar as a string, as the
documentation's examples quote them; exit surveys (V22) render numbers and booleans and add
``displayValue`` to entries (spec README, open question 5).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parley.domain.email import valid_email
from parley.domain.numbers import to_integer
from parley.domain.refusals import Invalid, Malformed

PRECHAT = "prechat"
OFFLINE = "offline"
EXIT = "exit"
AGENT = "agent"
KINDS = (PRECHAT, OFFLINE, EXIT, AGENT)

CHECKBOX = "Checkbox"
SELECTION_TYPES = ("Dropdown Box", CHECKBOX, "Radio Button", "Radio Button (side by side)")
TEXT_TYPES = ("Text Field", "Text Area")
ALPHA_NUMERIC = "alpha_numeric"
NUMERIC = "numeric"
EMAIL = "email"
VALIDATION_TYPES = (ALPHA_NUMERIC, NUMERIC, EMAIL)

# A Text Area holds a message; this bounds it well above any real one.
MAX_ANSWER = 10000
MAX_LABEL = 2000
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")


@dataclass(frozen=True)
class Entry:
    value: str
    display_value: str
    checked: bool = False
    show_logic_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Question:
    id: int
    logic_id: int
    order: int
    mandatory: bool
    type: str
    validation_type: str
    label: str
    last_known_value: str = ""
    entries: tuple[Entry, ...] = ()

    @property
    def selection(self) -> bool:
        return self.type in SELECTION_TYPES


@dataclass(frozen=True)
class Survey:
    id: int
    title: str
    header: str
    questions: tuple[Question, ...]

    def question(self, question_id: int) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True)
class Answer:
    """One answered question; the label is kept so the answer reads well after a re-import."""

    question_id: int
    label: str
    values: tuple[str, ...]
    validation_type: str = ALPHA_NUMERIC


@dataclass(frozen=True)
class Definition:
    """A configured survey: which kind, for which skill (None = the account default), and its name."""

    kind: str
    skill_id: int | None
    name: str
    survey: Survey
    imported_ms: int = 0


# -- scalars, read leniently: numbers and numeric strings alike, true and "true" -----------------


def _items(value: Any) -> list[Any]:
    """An "object or array" member as a list; absent or empty is no item."""
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]


def _unwrap(value: Any) -> Any:
    # XML text beside attributes arrives as {"$": text}.
    if isinstance(value, dict) and set(value) == {"$"}:
        return value["$"]
    return value


def _integer(value: Any, name: str) -> int:
    try:
        return to_integer(_unwrap(value), name)
    except Invalid:
        raise Invalid(f"{name} must be a non-negative integer") from None


def _boolean(value: Any, name: str, default: bool = False) -> bool:
    value = _unwrap(value)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Invalid(f"{name} must be true or false")


def _text(value: Any, name: str, max_length: int = MAX_LABEL) -> str:
    value = _unwrap(value)
    if value is None:
        return ""
    if isinstance(value, (bool, dict, list)):
        raise Invalid(f"{name} must be text")
    text = str(value)
    if len(text) > max_length:
        raise Invalid(f"{name} is longer than {max_length} characters")
    return text


def _choice(value: Any, name: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    text = _text(value, name).strip()
    if not text and default is not None:
        return default
    for option in allowed:
        if option.lower() == text.lower():
            return option
    raise Invalid(f"{name} must be one of: {', '.join(allowed)}")


def _identifier(item: dict[str, Any], name: str) -> int:
    """``id`` as a child element, or as an XML attribute."""
    raw = item.get("id", item.get("@id"))
    if raw is None or raw == "":
        raise Malformed(f"{name} has no id")
    return _integer(raw, f"{name} id")


# -- the file form ------------------------------------------------------------------------------


def parse_document(document: dict[str, Any], *, new_id: int | None = None) -> Survey:
    """A survey from ``{"survey": {...}}`` (or the bare inner object); ``new_id`` when it has none."""
    if not isinstance(document, dict):
        raise Malformed("a survey document is an object")
    content = document.get("survey", document)
    if not isinstance(content, dict):
        raise Malformed("survey must be an object")
    if content.get("id", content.get("@id")) in (None, ""):
        if new_id is None:
            raise Malformed("survey has no id")
        survey_id = new_id
    else:
        survey_id = _identifier(content, "survey")
    questions_element = content.get("questions")
    raw_questions = (
        _items(questions_element.get("question"))
        if isinstance(questions_element, dict)
        else _items(questions_element if questions_element is not None else content.get("question"))
    )
    if not raw_questions:
        raise Malformed("survey has no questions")
    questions = tuple(_parse_question(item, position) for position, item in enumerate(raw_questions))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise Invalid("question ids must be unique within a survey")
    logic_ids = {q.logic_id for q in questions}
    for question in questions:
        for entry in question.entries:
            unknown = [lid for lid in entry.show_logic_ids if lid not in logic_ids]
            if unknown:
                raise Invalid(f"question {question.id}: showLogicId {unknown[0]} names no question's logicId")
    return Survey(
        id=survey_id,
        title=_text(content.get("title"), "title"),
        header=_text(content.get("header"), "header"),
        questions=questions,
    )


def _parse_question(item: Any, position: int) -> Question:
    if not isinstance(item, dict):
        raise Malformed("each question must be an object")
    question_id = _identifier(item, "question")
    where = f"question {question_id}"
    kind = _choice(item.get("type"), f"{where}: type", SELECTION_TYPES + TEXT_TYPES)
    entries = tuple(_parse_entry(entry, where) for entry in _items(item.get("entry")))
    if kind in SELECTION_TYPES and not entries:
        raise Invalid(f"{where}: a {kind} question needs at least one entry")
    if kind in TEXT_TYPES and entries:
        raise Invalid(f"{where}: a {kind} question takes no entries")
    values = [entry.value for entry in entries]
    if len(set(values)) != len(values):
        raise Invalid(f"{where}: entry values must be unique")
    logic_id = item.get("logicId")
    order = item.get("order")
    return Question(
        id=question_id,
        logic_id=position + 1 if logic_id in (None, "") else _integer(logic_id, f"{where}: logicId"),
        order=position if order in (None, "") else _integer(order, f"{where}: order"),
        mandatory=_boolean(item.get("mandatory"), f"{where}: mandatory"),
        type=kind,
        validation_type=_choice(
            item.get("validationType"), f"{where}: validationType", VALIDATION_TYPES, default=ALPHA_NUMERIC
        ),
        label=_text(item.get("label"), f"{where}: label"),
        last_known_value=_text(item.get("lastKnownValue"), f"{where}: lastKnownValue", MAX_ANSWER),
        entries=entries,
    )


def _parse_entry(item: Any, where: str) -> Entry:
    if not isinstance(item, dict):
        raise Malformed(f"{where}: each entry must be an object")
    value = _text(item.get("value"), f"{where}: entry value").strip()
    if not value:
        raise Invalid(f"{where}: every entry needs a value")
    logic = item.get("logic")
    shown = _items(logic.get("showLogicId")) if isinstance(logic, dict) else []
    display = _text(item.get("displayValue"), f"{where}: displayValue")
    return Entry(
        value=value,
        display_value=display or value,
        checked=_boolean(item.get("checked"), f"{where}: checked"),
        show_logic_ids=tuple(_integer(lid, f"{where}: showLogicId") for lid in shown),
    )


# -- the wire form ------------------------------------------------------------------------------


def render(survey: Survey, kind: str, last_known: dict[int, str] | None = None) -> dict[str, Any]:
    """The ``survey`` element tree; lists follow the collapse rule (one question is an object)."""
    typed = kind == EXIT
    last_known = last_known or {}

    def number(value: int) -> int | str:
        return value if typed else str(value)

    def flag(value: bool) -> bool | str:
        return value if typed else ("true" if value else "false")

    questions = []
    for q in survey.questions:
        if typed:
            tree: dict[str, Any] = {
                "type": q.type,
                "validationType": q.validation_type,
                "id": q.id,
                "logicId": q.logic_id,
                "order": q.order,
                "mandatory": q.mandatory,
                "label": q.label,
            }
        else:
            tree = {
                "id": number(q.id),
                "logicId": number(q.logic_id),
                "order": number(q.order),
                "mandatory": flag(q.mandatory),
                "type": q.type,
                "validationType": q.validation_type,
                "label": q.label,
            }
        if q.selection:
            tree["entry"] = [_entry_tree(entry, typed, number, flag) for entry in q.entries]
        else:
            tree["lastKnownValue"] = last_known.get(q.id, q.last_known_value)
        questions.append(tree)
    return {
        "survey": {
            "id": number(survey.id),
            "title": survey.title,
            "header": survey.header,
            "questions": {"question": questions},
        }
    }


def _entry_tree(
    entry: Entry, typed: bool, number: Callable[[int], int | str], flag: Callable[[bool], bool | str]
) -> dict[str, Any]:
    logic = {"showLogicId": [number(lid) for lid in entry.show_logic_ids]} if entry.show_logic_ids else None
    if typed:
        return {"checked": entry.checked, "value": entry.value, "displayValue": entry.display_value, "logic": logic}
    return {"value": entry.value, "checked": flag(entry.checked), "logic": logic}


def document(survey: Survey) -> dict[str, Any]:
    """The form the store keeps: typed and complete, and read back by ``parse_document``."""
    return render(survey, EXIT)


# -- answers ------------------------------------------------------------------------------------


def parse_answers(content: dict[str, Any]) -> tuple[int, dict[int, list[str]]]:
    """(survey id, answers by question id) from the content of a submitted ``survey`` element.

    Canonical form: ``question`` items with ``answer``. The structure form of V22 (items
    without ``answer``, also under ``questions``) answers with checked entries, else
    ``lastKnownValue`` (spec README, open question 9).
    """
    if not isinstance(content, dict):
        raise Malformed("survey must be an object")
    survey_id = _identifier(content, "survey")
    container = content.get("questions")
    items = _items(container.get("question")) if isinstance(container, dict) else _items(content.get("question"))
    answers: dict[int, list[str]] = {}
    for item in items:
        if not isinstance(item, dict):
            raise Malformed("each question must be an object")
        question_id = _identifier(item, "question")
        if question_id in answers:
            raise Invalid(f"question {question_id} is answered twice")
        if "answer" in item:
            values = [_answer_text(value, question_id) for value in _items(item["answer"])]
        else:
            checked = [
                e
                for e in _items(item.get("entry"))
                if isinstance(e, dict) and _boolean(e.get("checked"), f"question {question_id}: checked")
            ]
            values = [_answer_text(e.get("value"), question_id) for e in checked] or [
                _answer_text(item.get("lastKnownValue"), question_id)
            ]
        answers[question_id] = [value.strip() for value in values if value.strip()]
    return survey_id, answers


def _answer_text(value: Any, question_id: int) -> str:
    value = _unwrap(value)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(f"question {question_id}: an answer must be text")
    return str(value)


def visible_questions(survey: Survey, answers: dict[int, list[str]]) -> set[int]:
    """Ids of the questions shown: those no logic hides, plus those revealed by chosen entries."""
    hidden_logic = {lid for q in survey.questions for e in q.entries for lid in e.show_logic_ids}
    visible = {q.id for q in survey.questions if q.logic_id not in hidden_logic}
    revealed: set[int] = set()
    changed = True
    while changed:
        changed = False
        for q in survey.questions:
            if q.id not in visible:
                continue
            chosen = set(answers.get(q.id, ()))
            for entry in q.entries:
                if entry.value in chosen:
                    revealed.update(entry.show_logic_ids)
        for q in survey.questions:
            if q.id not in visible and q.logic_id in revealed:
                visible.add(q.id)
                changed = True
    return visible


def check_answers(survey: Survey, answers: dict[int, list[str]]) -> list[Answer]:
    """The answers in survey order, or a refusal naming the first problem."""
    for question_id in answers:
        if survey.question(question_id) is None:
            raise Invalid(f"survey {survey.id} has no question {question_id}")
    visible = visible_questions(survey, answers)
    checked = []
    for q in survey.questions:
        values = list(dict.fromkeys(answers.get(q.id, ())))
        if not values:
            if q.mandatory and q.id in visible:
                raise Invalid(f"question {q.id} ({q.label}) needs an answer")
            continue
        if len(values) > 1 and q.type != CHECKBOX:
            raise Invalid(f"question {q.id} takes one answer")
        for value in values:
            _check_value(q, value)
        checked.append(Answer(q.id, q.label, tuple(values), q.validation_type))
    return checked


def _check_value(question: Question, value: str) -> None:
    if len(value) > MAX_ANSWER:
        raise Invalid(f"question {question.id}: the answer is longer than {MAX_ANSWER} characters")
    if question.selection:
        if value not in {entry.value for entry in question.entries}:
            raise Invalid(f"question {question.id}: {value!r} is not one of its entries")
        return
    if question.validation_type == EMAIL and not valid_email(value):
        raise Invalid(f"question {question.id}: {value!r} is not an e-mail address")
    if question.validation_type == NUMERIC and not _NUMBER.match(value):
        raise Invalid(f"question {question.id}: {value!r} is not a number")


def choose(
    definitions: list[Definition], *, name: str | None = None, survey_id: int | None = None, skill_id: int | None = None
) -> Definition | None:
    """By name, else by survey id, else the survey of the skill, else the account default.

    A name or id that matches nothing falls through to the next rule rather than failing.
    """
    if name:
        wanted = name.strip().lower()
        found = next((d for d in definitions if d.name.lower() == wanted), None)
        if found:
            return found
    if survey_id is not None:
        found = next((d for d in definitions if d.survey.id == survey_id), None)
        if found:
            return found
    if skill_id is not None:
        found = next((d for d in definitions if d.skill_id == skill_id), None)
        if found:
            return found
    return next((d for d in definitions if d.skill_id is None), None)
