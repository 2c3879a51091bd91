"""Idempotent appends: a client retry with the same ``Idempotency-Key`` header (or a line's
``clientMessageId``) within 24 h gets the original answer and appends nothing."""

from __future__ import annotations

from starlette.requests import Request

from parley.domain.refusals import Invalid

MAX_KEY_LENGTH = 200


def request_key(request: Request, scope: str, client_message_id=None) -> str | None:
    """The stored form ``scope|key``: keys are the client's, so they only mean something per caller."""
    key = request.headers.get("idempotency-key")
    if key is None and client_message_id not in (None, ""):
        key = str(client_message_id)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    return f"{scope}|{key}"
