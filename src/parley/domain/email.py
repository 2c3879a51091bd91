"""E-mail address validity as the API judges it: lenient, ``email@domain`` is valid (rule 5)."""

from __future__ import annotations

MAX_LENGTH = 254


def valid_email(address: str) -> bool:
    """One ``@``, non-empty local part and domain, no whitespace, at most 254 characters."""
    if not address or len(address) > MAX_LENGTH or any(ch.isspace() for ch in address):
        return False
    local, at, domain = address.partition("@")
    return bool(at) and bool(local) and bool(domain) and "@" not in domain
