"""Transcripts by mail: V20 ``transcriptRequest`` and V21 ``transcriptWithSubjectRequest``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.email import valid_email
from parley.domain.mail import MAX_SUBJECT
from parley.domain.refusals import Invalid, Malformed
from parley.http import fields
from parley.http.auth import visitor_chat
from parley.http.exchange import empty, engine_of, read_body, root_of
from parley.http.paths import CHAT
from parley.http.surveys import mailer_of
from parley.http.throttles import throttles_of
from parley.services.transcripts import Transcripts
from parley.services.visitors import Visitors

WRAPPERS = ("transcriptRequest", "transcriptWithSubjectRequest")
# UTC offsets in use run from -12:00 to +14:00; anything beyond 18 h is not a time zone.
MAX_OFFSET_MS = 18 * 3600 * 1000


def transcript_fields(body: dict) -> tuple[str, str | None, int | None]:
    """(email, subject, timezoneOffset) from the wrapped or the bare form (compatibility rule 5)."""
    wrapper = next((name for name in WRAPPERS if name in body), None)
    content = root_of(body, wrapper) if wrapper else body
    email = fields.text(content.get("email"), "email", max_length=254)
    if email is None:
        raise Malformed("request body does not contain an email element")
    email = email.strip()
    if not valid_email(email):
        raise Invalid(f"{email!r} is not an e-mail address")
    subject = fields.text(content.get("subject"), "subject", max_length=MAX_SUBJECT)
    if subject is not None and ("\n" in subject or "\r" in subject):
        raise Invalid("subject must be one line")
    offset = fields.integer(content.get("timezoneOffset"), "timezoneOffset", low=-MAX_OFFSET_MS, high=MAX_OFFSET_MS)
    return email, (subject.strip() or None) if subject is not None else None, offset


async def transcript_request(request: Request):
    _, chat = visitor_chat(request)
    engine = engine_of(request)
    Visitors(engine).touch(chat)
    email, subject, offset = transcript_fields(await read_body(request))
    await throttles_of(request).submission(request)  # each may cause a mail
    await Transcripts(engine).request(chat, email, subject, offset)
    mailer_of(request).watch(chat.id)
    return empty()


routes = [
    Route(CHAT + "/transcriptRequest", transcript_request, methods=["PUT"]),
    Route(CHAT + "/transcriptWithSubjectRequest", transcript_request, methods=["PUT"]),
]
