"""Idempotent appends: a client retry with the same ``Idempotency-Key`` header (or a line's
``clientMessageId``) within 24 h gets the original answer and appends nothing."""

from __future__ import annotations

from starlette.requests import Request

from parley.domain.refusals import Invalid
from parley.http.clients import client_address

MAX_KEY_LENGTH = 200
# A chat-request key names a chat to whoever repeats it from the same address (one NAT can be
# many visitors): it must be as hard to guess as a token, e.g. a UUID (36) or 16+ random chars.
MIN_CHAT_REQUEST_KEY_LENGTH = 16


def request_key(request: Request, scope: str, client_message_id=None, *, min_length: int = 1) -> str | None:
    """The stored form ``scope|key``: keys are the client's, so they only mean something per caller."""
    key = request.headers.get("idempotency-key")
    if key is None and client_message_id not in (None, ""):
        key = str(client_message_id)
    if key is None:
        return None
    key = key.strip()
    if not min_length <= len(key) <= MAX_KEY_LENGTH:
        raise Invalid(f"Idempotency-Key must be {min_length} to {MAX_KEY_LENGTH} characters")
    return f"{scope}|{key}"


def chat_request_key(request: Request, account_id: str, agent_id: int | None) -> str | None:
    """A chat request's key, scoped to what only its client has: the account, the client's
    address (behind ``--trusted-proxies``, the forwarded one) and the bearer's user if one was
    shown, so another client repeating the key never gets the first client's chat."""
    scope = f"chat-request|{account_id}|{client_address(request)}|{agent_id if agent_id is not None else ''}"
    return request_key(request, scope, min_length=MIN_CHAT_REQUEST_KEY_LENGTH)
