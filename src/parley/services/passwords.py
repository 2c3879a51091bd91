"""Agent passwords: argon2 hashes, computed off the event loop.

An argon2 hash or check takes tens of milliseconds of CPU on purpose; on the event loop it would
hold every other request (polls included) that long. A small pool of its own keeps logins from
also crowding out the threads the store and other work use: two at a time per process, the rest
wait their turn.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
THREADS = 2
_pool: ThreadPoolExecutor | None = None
_dummy_hash: str | None = None


def pool() -> ThreadPoolExecutor:
    """This process's pool. ``parley serve --demo`` hashes before granian forks its worker, and a
    forked child has none of its parent's threads: a pool inherited from the parent would take
    work and never run it, so each process makes its own."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="argon2")
    return _pool


def _forget_pool() -> None:
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


async def verify(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``. ``None`` (no such user) is checked against a
    dummy hash, so the time taken does not tell which logins exist."""
    return await asyncio.get_running_loop().run_in_executor(pool(), _verify, stored, password)


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(pool(), _hash, password)


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
