"""Agent passwords: argon2 hashes, computed off the event loop.

An argon2 hash or check takes tens of milliseconds of CPU on purpose; on the event loop it would
hold every other request (polls included) that long. A small pool of its own keeps logins from
also crowding out the threads the store and other work use: two at a time per process, the rest
wait their turn.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
_dummy_hash: str | None = None


async def verify(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``. ``None`` (no such user) is checked against a
    dummy hash, so the time taken does not tell which logins exist."""
    return await asyncio.get_running_loop().run_in_executor(POOL, _verify, stored, password)


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(POOL, _hash, password)


def _verify(stored: str | None, password: str) -> bool:
    global _dummy_hash
    if stored is None:
        _dummy_hash = _dummy_hash or HASHER.hash("parley-no-such-user")
        stored = _dummy_hash
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _hash(password: str) -> str:
    return HASHER.hash(password)
