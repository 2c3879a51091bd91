"""Password hashing and checking run in their own small pool, never on the event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading

from argon2 import PasswordHasher

from parley.services import passwords


class HeldHasher(PasswordHasher):
    """A cheap hasher whose check waits until the event loop says it is still running."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.loop_ran = threading.Event()
        self.threads: list[str] = []

    def verify(self, hash, password):
        self.threads.append(threading.current_thread().name)
        # On the loop this would wait in vain (the loop cannot run the setter): False, not a hang.
        return self.loop_ran.wait(timeout=5) and super().verify(hash, password)


async def test_a_check_leaves_the_loop_free(monkeypatch):
    hasher = HeldHasher()
    monkeypatch.setattr(passwords, "HASHER", hasher)
    stored = hasher.hash("secret")

    async def meanwhile():
        await asyncio.sleep(0)
        hasher.loop_ran.set()

    ok, _ = await asyncio.gather(passwords.verify(stored, "secret"), meanwhile())
    assert ok is True
    assert hasher.threads[0].startswith("argon2")


async def test_wrong_and_unknown(monkeypatch):
    stored = await passwords.hash_password("secret")
    assert await passwords.verify(stored, "nope") is False
    assert await passwords.verify(None, "secret") is False
    assert await passwords.verify("not a hash", "secret") is False
    assert passwords.pool()._max_workers == 2


def check_in_child(stored: str, answers) -> None:
    answers.put(asyncio.run(asyncio.wait_for(passwords.verify(stored, "secret"), timeout=10)))


async def test_a_forked_process_checks_with_threads_of_its_own():
    """granian forks the worker after ``parley serve --demo`` hashed in the parent."""
    stored = await passwords.hash_password("secret")  # the parent's pool has its threads now
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=check_in_child, args=(stored, answers))
    child.start()
    try:
        assert answers.get(timeout=30) is True
    finally:
        child.join(timeout=10)
    assert child.exitcode == 0
