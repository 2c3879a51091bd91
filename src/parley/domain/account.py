"""Accounts, skills and agent users: the configuration a contact centre runs on (agent spec §4.1)."""

from __future__ import annotations

from dataclasses import dataclass, field

ONLINE = "Online"
AWAY = "Away"
OCCUPIED = "Occupied"
OFFLINE = "Offline"
AVAILABILITIES = (ONLINE, AWAY, OCCUPIED)

# chatState codes of the available-agents resource (agent spec A6).
STATE_CODES = {OFFLINE: "1", ONLINE: "2", OCCUPIED: "3", AWAY: "4"}


@dataclass
class Account:
    id: str
    name: str
    timezone: str = "UTC"
    default_skill_id: int | None = None
    offline_email: str | None = None  # where offline-survey messages are mailed


@dataclass
class Skill:
    id: int
    account_id: str
    name: str
    # Retired: new chats cannot name it (they get the answer for an unknown skill) and it is not
    # offered, but its waiting chats are still served and history keeps its name.
    retired: bool = False


@dataclass
class Agent:
    id: int
    account_id: str
    login: str
    password_hash: str
    nickname: str
    display_name: str
    email: str = ""
    privilege_group: str = "agents"
    max_chats: int = 4
    enabled: bool = True
    skill_ids: list[int] = field(default_factory=list)

    def has_capacity(self, load: int) -> bool:
        return self.max_chats < 0 or load < self.max_chats

    def free_slots(self, load: int) -> int:
        """-1 = unlimited."""
        return -1 if self.max_chats < 0 else max(0, self.max_chats - load)


def canonical_availability(value: str) -> str | None:
    """Case-insensitive on input, canonical capitalisation on output (agent spec A5)."""
    for name in AVAILABILITIES:
        if value.strip().lower() == name.lower():
            return name
    return None
