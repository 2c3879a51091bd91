"""System lines: ids and default English texts (server spec §6.3)."""

from __future__ import annotations

NO_AGENTS = 2
ACCEPTED = 3
ROUTING = 4
AGENT_ENDED = 5
DISCONNECTED = 6
TRANSFERRED_TO_AGENT = 13
TRANSFERRED_TO_SKILL = 15
REQUEUED = 23

TEXTS = {
    NO_AGENTS: "All our agents are busy right now. Please try again later.",
    ACCEPTED: "You are now chatting with {agentName}.",
    ROUTING: "Thank you for choosing to chat with us. An agent will be with you shortly.",
    AGENT_ENDED: "The agent has ended the chat.",
    DISCONNECTED: "The chat was disconnected.",
    TRANSFERRED_TO_AGENT: "Please wait while you are transferred to another agent.",
    TRANSFERRED_TO_SKILL: "Please wait while you are transferred to another team.",
    REQUEUED: "Please wait, we are connecting you to another agent.",
}


def system_text(message_id: int, **values: str) -> str:
    return TEXTS[message_id].format(**values)
