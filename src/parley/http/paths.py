"""Path patterns shared by the route tables.

Chat ids have a fixed shape (server spec §1.7), so ``{chat_id:chat}`` cannot swallow the
reserved words under ``/chat/`` (``availability``, ``request``, ``preSurvey``, …): route
order then no longer matters for correctness, and the busiest routes (polls) can go first.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class ChatIdConvertor(Convertor):
    regex = r"H[0-9]+-[0-9a-f]+K[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("chat", ChatIdConvertor())

ACCOUNT = "/api/account/{account_id}"
CHAT = ACCOUNT + "/chat/{chat_id:chat}"
SESSIONS = ACCOUNT + "/agentSession"
SESSION = SESSIONS + "/{session_id}"
# Agent-side chat URIs name an assignment's own key (same shape), never the visitor's chat id.
AGENT_CHAT = SESSION + "/chat/{agent_key:chat}"
