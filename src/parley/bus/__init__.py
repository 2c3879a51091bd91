"""Wake-ups between the writer path and waiting requests, behind one interface (``Bus``):
in-process (``local``) and across nodes (``redis``). The composition place (the app
factory) chooses one and hands it to the engine; services only know this protocol.

A topic names what changed: one chat's events, or one agent's rings. A woken request reads
the committed state, so a lost or doubled wake-up costs a read, never correctness. News of a
chat may carry what its commit changed (the row and the new events), which a node one version
behind applies instead of reading the store; any other node reads the store, as without it.
"""

from __future__ import annotations

from typing import Protocol


class Bus(Protocol):
    @property
    def closed(self) -> bool:
        """True once ``close`` ran (read-only here: a Redis bus reports its local one's)."""

    async def start(self, name: str) -> None:
        """Begin delivering news; ``name`` is the same on every node of one store and no other."""

    async def stop(self) -> None:
        """Close, and release what the bus holds (connections, tasks)."""

    def publish(self, topic: str, version: int | None = None, change: bytes | None = None) -> None:
        """Wake whoever waits on ``topic`` now (called after the commit); ``version`` is the chat's
        committed version, so other nodes can tell whether their view already has it; ``change``
        (optional) is what that commit changed, so a node whose view is one version behind can
        apply it without reading the store."""

    async def wait(self, topic: str, timeout: float) -> bool:
        """True if news arrived on ``topic`` within ``timeout`` seconds; False at once once closed."""

    def waiting(self, topic: str) -> int:
        """How many requests wait on ``topic`` in this process."""

    def close(self) -> None:
        """The server is stopping: wake every waiter, and let nobody wait from now on."""


# News that the administrators' configuration changed: every node reads it from the store again.
DIRECTORY_TOPIC = "directory"


def chat_topic(chat_id: str) -> str:
    return f"chat:{chat_id}"


def agent_topic(agent_id: int) -> str:
    return f"agent:{agent_id}"
