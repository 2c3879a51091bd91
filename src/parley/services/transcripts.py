"""Transcript requests (V20, V21): stored at once, mailed when the chat has ended."""

from __future__ import annotations

import logging

from parley.config import recipient_cap
from parley.domain import mail
from parley.domain.chat import Chat
from parley.domain.refusals import Invalid
from parley.services.engine import Engine

log = logging.getLogger("parley.mail")


class Transcripts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.outbox = engine.store.mail

    async def request(self, chat: Chat, email: str, subject: str | None, timezone_offset_ms: int | None) -> None:
        """Allowed in any state; the mail worker renders it once the chat is ``ended``. At most
        ``--transcript-recipients`` different addresses per chat, so a chat is no mail relay."""
        cap = recipient_cap(self.engine.settings.transcript_recipients)
        stored = await self.outbox.request_transcript(
            chat.account_id, chat.id, email, subject, timezone_offset_ms, self.engine.clock(), max_recipients=cap
        )
        if not stored:
            raise Invalid(f"A chat's transcript goes to at most {cap} different addresses")

    async def compose(self, chat_id: str) -> int:
        """Queue the transcripts waiting for this chat if it has ended; returns how many were queued."""
        engine = self.engine
        chat = engine.chats.get(chat_id) or await self.outbox.stored_chat(chat_id)
        if chat is not None and chat.active:
            return 0
        requests = await self.outbox.pending_transcripts(chat_id)
        if not requests:
            return 0
        account = engine.directory.snapshot.accounts.get(requests[0].account_id)
        account_name = account.name if account else requests[0].account_id
        composed = []
        for request in requests:
            message = None
            if chat is None:
                # The chat id is the visitor's secret: the log names the account, never the chat.
                log.warning(
                    "transcript of a chat of account %s dropped: the chat is no longer stored", request.account_id
                )
            else:
                zone = (
                    mail.offset_zone(request.timezone_offset_ms)
                    if request.timezone_offset_ms is not None
                    else engine.directory.zone(request.account_id)
                )
                message = mail.transcript(
                    chat, account_name, zone, request.email, engine.settings.mail_from, request.subject
                )
            composed.append((request, message))
        await self.outbox.complete_transcripts(composed, engine.clock())
        return sum(1 for _, message in composed if message is not None)
