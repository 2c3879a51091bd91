import pytest

from parley.domain import messages

# Server spec §6.3.
SPEC_TEXTS = {
    4: "Thank you for choosing to chat with us. An agent will be with you shortly.",
    5: "The agent has ended the chat.",
    2: "All our agents are busy right now. Please try again later.",
    13: "Please wait while you are transferred to another agent.",
    15: "Please wait while you are transferred to another team.",
    6: "The chat was disconnected.",
    23: "Please wait, we are connecting you to another agent.",
}


@pytest.mark.parametrize(("message_id", "text"), SPEC_TEXTS.items())
def test_default_texts(message_id, text):
    assert messages.system_text(message_id) == text


def test_accepted_names_the_agent():
    assert messages.system_text(messages.ACCEPTED, agentName="Natalie") == "You are now chatting with Natalie."


def test_message_ids():
    assert (messages.NO_AGENTS, messages.ACCEPTED, messages.ROUTING, messages.AGENT_ENDED) == (2, 3, 4, 5)
    assert (messages.DISCONNECTED, messages.TRANSFERRED_TO_AGENT, messages.TRANSFERRED_TO_SKILL) == (6, 13, 15)
    assert messages.REQUEUED == 23


def test_deprecated_ticket_message_is_never_defined():
    assert 22 not in messages.TEXTS
