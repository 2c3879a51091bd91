"""The mail worker: renders transcripts of chats that ended, and sends the outbox over SMTP.

Requests never send mail; they commit a row to the outbox (or a transcript request) and wake
this worker. A message is retried with exponential backoff until it is sent or has failed
for days, so an SMTP server that is down delays mail but loses none, and a restart resumes
the pending mail. Delivery is at least once: a crash between the server's acceptance and our
"sent" mark sends that message again (with the same Message-ID, so clients can de-duplicate).
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

import aiosmtplib

from parley.config import Settings
from parley.domain.mail import MAX_ATTEMPTS, retry_delay_ms
from parley.services.engine import Engine
from parley.services.tally import tally
from parley.services.transcripts import Transcripts
from parley.store.protocol import Pending

log = logging.getLogger("parley.mail")

BATCH = 20
SMTP_TIMEOUT = 30.0
# How often chats with a pending transcript are checked for their end (in memory, no I/O).
TRANSCRIPT_CHECK_S = 1.0
# The outbox is re-read at least this often, in case another process queued mail.
RECHECK_MS = 60_000


class PermanentFailure(Exception):
    """The mail can never be delivered as it is (refused recipient or content): stop retrying."""


class Unreachable(Exception):
    """No SMTP conversation was possible: the rest of the batch would fail the same way."""


class SmtpTransport:
    """aiosmtplib over ``smtp://host:port`` (plain, or STARTTLS when asked) or ``smtps://host:port``."""

    def __init__(self, settings: Settings) -> None:
        parts = urlsplit(settings.smtp_url or "")
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"smtp_url must be smtp://host:port or smtps://host:port, not {settings.smtp_url!r}")
        self.use_tls = parts.scheme == "smtps"
        self.hostname = parts.hostname
        self.port = parts.port or (465 if self.use_tls else 25)
        self.start_tls = settings.smtp_starttls and not self.use_tls
        self.username = unquote(parts.username) if parts.username else settings.smtp_username
        self.password = unquote(parts.password) if parts.password else settings.secret("smtp_password")

    async def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        try:
            await aiosmtplib.send(
                message,
                sender=sender,
                recipients=[recipient],
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=SMTP_TIMEOUT,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(500 <= refusal.code < 600 for refusal in exc.recipients):
                raise PermanentFailure(str(exc)) from exc
            raise
        except aiosmtplib.SMTPDataError as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(str(exc)) from exc
            raise
        except (TimeoutError, OSError) as exc:  # refused, reset, timed out: the server is not there
            raise Unreachable(str(exc) or type(exc).__name__) from exc


def email_message(pending: Pending) -> EmailMessage:
    message = pending.message
    email = EmailMessage()
    email["From"] = message.sender
    email["To"] = message.recipient
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Subject"] = message.subject
    email["Date"] = formatdate(pending.created_ms / 1000, usegmt=True)
    domain = message.sender.rpartition("@")[2] or "localhost"
    email["Message-ID"] = f"<parley-{pending.id}-{pending.created_ms}@{domain}>"
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


class Mailer:
    def __init__(self, engine: Engine, transport: SmtpTransport | None = None) -> None:
        self.engine = engine
        self.outbox = engine.store.mail
        if transport is None and engine.settings.smtp_url:
            transport = SmtpTransport(engine.settings)
        self.transport = transport
        self._wake = asyncio.Event()
        self._watched: set[str] = set()
        self._next_check_ms = 0

    # -- what requests call (after their commit) ----------------------------------------------

    def notify(self) -> None:
        """Mail was queued: look at the outbox now."""
        self._next_check_ms = 0
        self._wake.set()

    def watch(self, chat_id: str) -> None:
        """A transcript waits for this chat: render it once the chat has ended."""
        self._watched.add(chat_id)
        self._wake.set()

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        self._watched |= await self.outbox.chats_with_pending_transcripts()
        if self.transport is None:
            log.warning("no SMTP server configured (--smtp-url): mail stays queued in the outbox until one is")
        while True:
            try:
                await self.step()
            except Exception:  # a failed pass must not stop the next one; the rows are still there
                log.exception("mail pass failed")
            await self._pause()

    async def step(self) -> None:
        await self.compose_transcripts()
        if self.transport is not None and self.engine.clock() >= self._next_check_ms:
            await self.deliver_due()

    async def _pause(self) -> None:
        waits = [RECHECK_MS / 1000]
        if self._watched:
            waits.append(TRANSCRIPT_CHECK_S)
        if self.transport is not None:
            waits.append(max(0.0, (self._next_check_ms - self.engine.clock()) / 1000))
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, min(waits)))
        except TimeoutError:
            pass
        self._wake.clear()

    async def compose_transcripts(self) -> int:
        queued = 0
        for chat_id in list(self._watched):
            chat = self.engine.chats.get(chat_id)
            if chat is not None and chat.active:
                continue
            queued += await Transcripts(self.engine).compose(chat_id)
            self._watched.discard(chat_id)
        if queued:
            self._next_check_ms = 0
        return queued

    async def deliver_due(self) -> int:
        """One pass over the messages that are due; returns how many were sent."""
        sent = 0
        while True:
            now = self.engine.clock()
            batch = await self.outbox.due(now, BATCH)
            for pending in batch:
                attempts = pending.attempts + 1
                try:
                    email = email_message(pending)
                    await self.transport.send(email, pending.message.sender, pending.message.recipient)
                except (PermanentFailure, ValueError) as exc:  # ValueError: headers no mail server would take
                    log.error("mail %s to %s failed for good: %s", pending.id, pending.message.recipient, exc)
                    await self.outbox.mark_failed(pending.id, attempts, now, str(exc))
                    tally(self.engine).mail_failures += 1
                except Exception as exc:
                    await self._retry_later(pending, attempts, now, exc)
                    if isinstance(exc, Unreachable):
                        # The rest of the batch waits with it instead of failing one by one.
                        self._next_check_ms = now + retry_delay_ms(attempts)
                        return sent
                else:
                    await self.outbox.mark_sent(pending.id, attempts, self.engine.clock())
                    tally(self.engine).mail_sent += 1
                    sent += 1
            if len(batch) < BATCH:
                break
        upcoming = await self.outbox.next_due_ms()
        now = self.engine.clock()
        self._next_check_ms = min(upcoming if upcoming is not None else now + RECHECK_MS, now + RECHECK_MS)
        return sent

    async def _retry_later(self, pending: Pending, attempts: int, now: int, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if attempts >= MAX_ATTEMPTS:
            log.error(
                "mail %s to %s failed after %d attempts: %s", pending.id, pending.message.recipient, attempts, error
            )
            await self.outbox.mark_failed(pending.id, attempts, now, error)
            tally(self.engine).mail_failures += 1
            return
        delay = retry_delay_ms(attempts)
        log.warning(
            "mail %s to %s not sent (attempt %d), retrying in %.0f s: %s",
            pending.id,
            pending.message.recipient,
            attempts,
            delay / 1000,
            error,
        )
        await self.outbox.mark_retry(pending.id, attempts, now + delay, error)
        tally(self.engine).mail_retries += 1
