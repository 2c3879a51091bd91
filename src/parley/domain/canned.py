"""Canned responses: short texts an account's agents keep to insert into a chat (a parley extension).

Bounded so that one account cannot grow the store without end: the console loads the whole list
at once, and a list an agent can scan has a few hundred entries at most.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.domain.refusals import Invalid

MAX_PER_ACCOUNT = 200
MAX_TITLE = 100
# An agent line may hold 10,000 characters; a canned one is a paragraph or two.
MAX_TEXT = 2000


@dataclass(frozen=True)
class CannedResponse:
    id: int
    account_id: str
    title: str
    text: str
    created_ms: int = 0


def checked(title: str | None, text: str | None) -> tuple[str, str]:
    """The title and text of a new canned response, trimmed; refused when blank or too long."""
    title = (title or "").strip()
    text = (text or "").strip()
    if not text:
        raise Invalid("a canned response needs a non-blank text")
    if len(text) > MAX_TEXT:
        raise Invalid(f"text is longer than {MAX_TEXT} characters")
    if len(title) > MAX_TITLE:
        raise Invalid(f"title is longer than {MAX_TITLE} characters")
    if "\x00" in title or "\x00" in text:  # PostgreSQL text cannot hold it; nobody types it
        raise Invalid("a canned response may not contain the NUL character")
    return title or text.splitlines()[0][:MAX_TITLE], text
