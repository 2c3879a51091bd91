"""Identifiers in the shapes clients expect (server spec §1.7)."""

from __future__ import annotations

import hashlib
import re
import secrets

# JSON numbers are parsed as doubles by clients: every numeric id stays at or below this.
MAX_SAFE_INTEGER = 2**53 - 1

CHAT_ID_PATTERN = re.compile(r"^H\d{19}-[0-9a-f]{32}K\d{7,8}$")


def new_chat_id() -> str:
    """``H`` + 19 digits + ``-`` + 32 hex (128 random bits) + ``K`` + 7–8 digits."""
    head = secrets.randbelow(9 * 10**18) + 10**18
    tail = secrets.randbelow(9 * 10**6) + 10**6
    return f"H{head}-{secrets.token_hex(16)}K{tail}"


def new_agent_key() -> str:
    """The agent side's name for one assignment of a chat: the chat id's shape, its own 128 bits,
    so an agent never learns the visitor's chat id (the visitor side's only secret)."""
    return new_chat_id()


def visit_id(chat_id: str) -> str:
    """The agent side's visit id: the chat id without its ``-hex`` middle."""
    head, _, rest = chat_id.partition("-")
    return head + rest[rest.index("K") :] if "K" in rest else chat_id


def new_number(low: int = 10**14, high: int = MAX_SAFE_INTEGER) -> int:
    """A random positive integer that is still exact as a double."""
    return low + secrets.randbelow(high - low + 1)


def new_session_number() -> int:
    """Agent session ids are digits only (clients extract them with ``[0-9]*$``)."""
    return new_number(10**9, 10**10 - 1)


def new_token() -> str:
    """64 hex characters: 256 random bits, for bearers and csrf tokens."""
    return secrets.token_hex(32)


def new_app_key() -> str:
    """32 hex characters, the shape of LivePerson's published key."""
    return secrets.token_hex(16)


def digest(secret: str) -> str:
    """How high-entropy secrets (app keys, bearers) are stored: never in the clear."""
    return hashlib.sha256(secret.encode()).hexdigest()


# Admin tokens carry a prefix so a leaked one is recognisable (in a log, by a secret scanner).
ADMIN_TOKEN_PREFIX = "padm_"


def new_admin_token() -> str:
    """``padm_`` + 64 hex characters (256 random bits)."""
    return ADMIN_TOKEN_PREFIX + secrets.token_hex(32)
