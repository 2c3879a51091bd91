"""Surveys: import (CLI), lookup (V5, V6, V22, A23) and answers (V7, V9, V23, A24).

Definitions are read from the store on every lookup: the CLI may import while the server runs,
and survey requests are rare next to polls.
"""

from __future__ import annotations

from parley.domain import mail
from parley.domain.account import Agent
from parley.domain.chat import Chat
from parley.domain.ids import new_number
from parley.domain.refusals import Invalid, NotFound
from parley.domain.survey import (
    AGENT,
    EXIT,
    KINDS,
    OFFLINE,
    PRECHAT,
    Answer,
    Definition,
    Survey,
    check_answers,
    choose,
    parse_answers,
    parse_document,
)
from parley.services.engine import Engine
from parley.store.protocol import Store, Submission

# Imported surveys without an id get one of this size: short enough to type, exact as a double.
NEW_SURVEY_ID_RANGE = (10**6, 10**9)


async def import_survey(
    store: Store,
    account_id: str,
    kind: str,
    document: dict,
    skill: str | None = None,
    name: str | None = None,
    now_ms: int = 0,
) -> int:
    """Store a survey document for an account, kind and optional skill (replacing the one there)."""
    _check_kind(kind)
    directory = await store.load_directory()
    if account_id not in directory.accounts:
        raise Invalid(f"no account {account_id}")
    skill_id = _skill_id(directory, account_id, skill)
    survey = parse_document(document, new_id=new_number(*NEW_SURVEY_ID_RANGE))
    label = (name or "").strip() or survey.title.strip() or f"{kind} survey {survey.id}"
    await store.surveys.save_definition(account_id, Definition(kind, skill_id, label, survey), now_ms)
    return survey.id


async def survey_definitions(
    store: Store, account_id: str, kind: str | None = None, skill: str | None = None
) -> list[Definition]:
    """An account's configured surveys (admin API and ``parley survey list``), narrowed to a kind
    and a skill name when given; ordered by kind, then skill (the account default first)."""
    if kind is not None:
        _check_kind(kind)
    directory = await store.load_directory()
    if account_id not in directory.accounts:
        raise NotFound(f"no account {account_id}")
    skill_id = _skill_id(directory, account_id, skill)
    found = [d for d in await store.surveys.definitions(account_id, kind) if not skill or d.skill_id == skill_id]
    return sorted(found, key=lambda d: (KINDS.index(d.kind), d.skill_id or 0))


async def survey_definition(store: Store, account_id: str, kind: str, survey_id: int) -> Definition:
    for definition in await survey_definitions(store, account_id, kind):
        if definition.survey.id == survey_id:
            return definition
    raise NotFound(f"no {kind} survey {survey_id} in account {account_id}")


async def delete_survey(store: Store, account_id: str, kind: str, survey_id: int) -> Definition:
    """Remove a survey definition: visitors asking for it get "no survey" (or the next that fits)
    from the next request on; answers already given keep their questions' labels."""
    definition = await survey_definition(store, account_id, kind, survey_id)
    await store.surveys.delete_definition(account_id, kind, survey_id)
    return definition


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise Invalid(f"kind must be one of: {', '.join(KINDS)}")


def _skill_id(directory, account_id: str, skill: str | None) -> int | None:
    if not skill:
        return None
    wanted = skill.strip().lower()
    match = [s.id for s in directory.skills.values() if s.account_id == account_id and s.name.lower() == wanted]
    if not match:
        raise Invalid(f"no skill {skill!r} in account {account_id}")
    return match[0]


class Surveys:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store.surveys

    async def find(
        self,
        account_id: str,
        kind: str,
        *,
        name: str | None = None,
        survey_id: int | None = None,
        skill_name: str | None = None,
        skill_id: int | None = None,
    ) -> Survey:
        """The survey a client asks for; a skill name that is not configured counts as none."""
        if skill_name:
            skill = self.engine.directory.skill_named(account_id, skill_name)
            skill_id = skill.id if skill else skill_id
        definition = choose(
            await self.store.definitions(account_id, kind), name=name, survey_id=survey_id, skill_id=skill_id
        )
        if definition is None:
            raise NotFound("No survey is configured")
        return definition.survey

    async def checked_answers(self, account_id: str, kind: str, content: dict) -> tuple[int, list[Answer]]:
        survey_id, given = parse_answers(content)
        definition = next((d for d in await self.store.definitions(account_id, kind) if d.survey.id == survey_id), None)
        if definition is None:
            raise Invalid(f"no {kind} survey {survey_id}")
        return survey_id, check_answers(definition.survey, given)

    async def submit_offline(self, account_id: str, content: dict, details: dict) -> bool:
        """Store an offline message; mail it to the account's offline address when it has one.
        True when a mail was queued."""
        account = self.engine.directory.account(account_id)
        survey_id, answers = await self.checked_answers(account_id, OFFLINE, content)
        now = self.engine.clock()
        message = None
        if account.offline_email:
            message = mail.offline_message(
                account.name,
                answers,
                details,
                now,
                self.engine.directory.zone(account_id),
                account.offline_email,
                self.engine.settings.mail_from,
            )
        submission = Submission(account_id, OFFLINE, None, survey_id, answers, details, now)
        await self.store.save_submission(submission, mail=message)
        self.engine.changed()
        return message is not None

    async def submit_exit(self, chat: Chat, content: dict, details: dict) -> None:
        """Exit answers belong to the chat; submitting again replaces them (V23)."""
        survey_id, answers = await self.checked_answers(chat.account_id, EXIT, content)
        submission = Submission(chat.account_id, EXIT, chat.id, survey_id, answers, details, self.engine.clock())
        await self.store.save_submission(submission, replace=True)
        self.engine.changed()

    async def submit_agent(self, agent: Agent, chat: Chat, content: dict) -> None:
        """The agent's wrap-up answers (A24); a second submission replaces the first."""
        survey_id, answers = await self.checked_answers(chat.account_id, AGENT, content)
        details = {"agentId": agent.id, "agentName": agent.nickname}
        submission = Submission(chat.account_id, AGENT, chat.id, survey_id, answers, details, self.engine.clock())
        await self.store.save_submission(submission, replace=True)
        self.engine.changed()

    async def last_known(self, account_id: str, kind: str, visitor_id: int | None) -> dict[int, str]:
        """A returning visitor's earlier answers, shown as ``lastKnownValue`` (spec §9)."""
        if visitor_id is None:
            return {}
        earlier = await self.store.latest_for_visitor(account_id, kind, visitor_id)
        if earlier is None:
            return {}
        return {answer.question_id: answer.values[0] for answer in earlier.answers if len(answer.values) == 1}

    async def answers_of(self, chat: Chat, kind: str) -> Submission | None:
        """What was answered for a chat (pre-chat, exit or agent survey), if anything."""
        found = await self.store.submissions(chat.account_id, kind, chat.id)
        return found[-1] if found else None


async def check_prechat_answers(engine: Engine, account_id: str, survey_content: dict) -> list[Answer]:
    """Validate the ``survey`` of a chat request (V9) like V7, writing nothing: call before creating the chat."""
    _, answers = await Surveys(engine).checked_answers(account_id, PRECHAT, survey_content)
    return answers


async def store_prechat_answers(engine: Engine, chat: Chat, survey_content: dict) -> None:
    """Validate and store the pre-chat answers of a chat request with its chat."""
    surveys = Surveys(engine)
    survey_id, answers = await surveys.checked_answers(chat.account_id, PRECHAT, survey_content)
    submission = Submission(chat.account_id, PRECHAT, chat.id, survey_id, answers, {}, engine.clock())
    await surveys.store.save_submission(submission, replace=True)
    engine.changed()
