import pytest

from parley.domain import chat as rules
from parley.domain.chat import (
    CHATTING,
    ENDED,
    NOT_TYPING,
    ONLY_TO_REP,
    REGULAR,
    TYPING,
    WAITING,
    Chat,
    Event,
    Typing,
)
from parley.domain.refusals import Forbidden, NotFound


def new_chat(**changes) -> Chat:
    values = dict(
        id="H1000000000000000000-" + "0" * 32 + "K1000000",
        account_id="1",
        rt_session_id=4294967297,
        visitor_id=123,
        start_ms=1_000_000,
        chat_timeout=40,
    )
    values.update(changes)
    return Chat(**values)


def with_events(chat: Chat, *drafts) -> Chat:
    for draft in drafts:
        chat.events.append(Event(len(chat.events), draft.type, 0, draft.fields, draft.agents_only))
    return chat


# -- opening, acceptance, ending (server spec §5) ---------------------------------------------


def test_opening_is_state_waiting_then_system_line_4():
    drafts = rules.opening([])
    assert [d.type for d in drafts] == ["state", "line"]
    assert drafts[0].fields == {"state": "waiting"}
    assert drafts[1].fields["systemMessageId"] == 4
    assert not any(d.agents_only for d in drafts)


def test_system_line_fields():
    line = rules.opening([])[1].fields
    assert line == {
        "textType": "plain",
        "text": "Thank you for choosing to chat with us. An agent will be with you shortly.",
        "by": "info",
        "source": "system",
        "systemMessageId": 4,
        "subType": "REGULAR",
    }


def test_opening_appends_prechat_lines_for_agents_only():
    drafts = rules.opening(["Name: Joe", "Issue: billing"])
    assert len(drafts) == 4
    prechat = drafts[2:]
    assert [d.fields["text"] for d in prechat] == ["Name: Joe", "Issue: billing"]
    for draft in prechat:
        assert draft.agents_only
        assert draft.fields["subType"] == ONLY_TO_REP
        assert (draft.fields["source"], draft.fields["by"]) == ("system", "info")


def test_acceptance_is_state_chatting_then_line_3_with_the_nickname():
    drafts = rules.acceptance("Natalie")
    assert drafts[0].fields == {"state": "chatting"}
    assert drafts[1].fields["systemMessageId"] == 3
    assert drafts[1].fields["text"] == "You are now chatting with Natalie."


def test_ending_with_a_reason_puts_the_line_before_the_state():
    drafts = rules.ending(new_chat(state=CHATTING), 5)
    assert [d.type for d in drafts] == ["line", "state"]
    assert drafts[0].fields["systemMessageId"] == 5
    assert drafts[1].fields == {"state": "ended"}


def test_ending_without_a_reason_is_only_the_state():
    assert [d.fields for d in rules.ending(new_chat(), None)] == [{"state": "ended"}]


def test_ending_an_ended_chat_is_idempotent():
    assert rules.ending(new_chat(state=ENDED), 6) == []
    assert rules.ending(new_chat(state=ENDED), None) == []


def test_require_open_refuses_an_ended_chat():
    rules.require_open(new_chat(state=CHATTING), "add a line")
    with pytest.raises(Forbidden):
        rules.require_open(new_chat(state=ENDED), "add a line")


# -- lines --------------------------------------------------------------------------------------


def test_visitor_line():
    draft = rules.visitor_line("hello", None)
    assert draft.fields == {"textType": "plain", "text": "hello", "by": None, "source": "visitor", "subType": REGULAR}
    assert not draft.agents_only


def test_visitor_line_carries_the_set_name():
    assert rules.visitor_line("hi", "Joe").fields["by"] == "Joe"


def test_visitor_rich_line_passes_json_through():
    content = {"type": "vertical", "elements": [{"type": "text", "text": "x"}]}
    draft = rules.visitor_rich_line(None, content, None)
    assert draft.fields["textType"] == "rich-content"
    assert draft.fields["json"] == content


def test_agent_private_line_is_agents_only():
    draft = rules.agent_line("note", "plain", "Natalie", ONLY_TO_REP, None)
    assert draft.agents_only
    assert draft.fields["subType"] == ONLY_TO_REP
    assert (draft.fields["by"], draft.fields["source"]) == ("Natalie", "agent")


def test_agent_regular_line_is_visible():
    draft = rules.agent_line("hi", "html", "Natalie", REGULAR, None)
    assert not draft.agents_only
    assert "json" not in draft.fields


def test_agent_structured_content_keeps_json():
    draft = rules.agent_line(None, "rich-content", "Natalie", REGULAR, {"type": "vertical"})
    assert draft.fields["json"] == {"type": "vertical"}


# -- visibility ---------------------------------------------------------------------------------


def mixed_chat() -> Chat:
    # 0 state, 1 system line 4, 2 pre-chat (agents only), 3 visitor line, 4 private agent line, 5 agent line
    return with_events(
        new_chat(),
        *rules.opening(["pre-chat answer"]),
        rules.visitor_line("hi", None),
        rules.agent_line("private", "plain", "N", ONLY_TO_REP, None),
        rules.agent_line("hello", "plain", "N", REGULAR, None),
    )


def test_visitor_view_hides_agents_only_events_and_keeps_ids():
    events = mixed_chat().visible_events(0, visitor_view=True)
    assert [e.id for e in events] == [0, 1, 3, 5]


def test_agent_view_shows_every_event():
    assert [e.id for e in mixed_chat().visible_events(0, visitor_view=False)] == [0, 1, 2, 3, 4, 5]


def test_from_returns_ids_at_or_above_it():
    chat = mixed_chat()
    assert [e.id for e in chat.visible_events(3, visitor_view=False)] == [3, 4, 5]
    assert [e.id for e in chat.visible_events(2, visitor_view=True)] == [3, 5]


def test_from_past_the_end_is_empty():
    chat = mixed_chat()
    assert chat.visible_events(6, visitor_view=False) == []
    assert chat.visible_events(100, visitor_view=True) == []


def test_next_event_id_is_one_past_the_highest():
    assert mixed_chat().next_event_id == 6
    assert new_chat().next_event_id == 0


def test_event_lookup():
    chat = mixed_chat()
    assert chat.event(3, visitor_view=True).fields["text"] == "hi"
    assert chat.event(2, visitor_view=False).fields["text"] == "pre-chat answer"


def test_visitor_cannot_read_an_agents_only_event():
    with pytest.raises(NotFound):
        mixed_chat().event(2, visitor_view=True)


@pytest.mark.parametrize("event_id", [-1, 6, 99])
def test_event_lookup_outside_the_log_is_not_found(event_id):
    with pytest.raises(NotFound):
        mixed_chat().event(event_id, visitor_view=False)


# -- duration (server spec §5) --------------------------------------------------------------


def test_duration_is_zero_while_chatting():
    assert new_chat(state=CHATTING, chatting_ms=2_000_000).duration() == 0


def test_duration_after_end_counts_from_first_chatting():
    chat = new_chat(state=ENDED, start_ms=1_000_000, chatting_ms=1_010_000, ended_ms=1_095_500)
    assert chat.duration() == 85


def test_duration_is_zero_if_never_chatting():
    assert new_chat(state=ENDED, ended_ms=2_000_000).duration() == 0


def test_active_until_ended():
    assert new_chat(state=WAITING).active
    assert new_chat(state=CHATTING).active
    assert not new_chat(state=ENDED).active


# -- typing -------------------------------------------------------------------------------------


def test_typing_within_ttl_reads_typing():
    assert Typing(TYPING, since_ms=1_000).current(now_ms=1_000 + 30_000, ttl_ms=30_000) == TYPING


def test_typing_past_ttl_reads_not_typing():
    assert Typing(TYPING, since_ms=1_000).current(now_ms=1_000 + 30_001, ttl_ms=30_000) == NOT_TYPING


def test_not_typing_stays_not_typing():
    assert Typing(NOT_TYPING, since_ms=0).current(now_ms=10**9, ttl_ms=1) == NOT_TYPING


def test_default_typing_is_not_typing():
    assert Typing().current(now_ms=0, ttl_ms=30_000) == NOT_TYPING
