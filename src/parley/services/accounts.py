"""Administration: accounts, app keys, skills and agents (what the CLI creates)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parley.domain.account import Account, Agent, Skill
from parley.domain.email import valid_email
from parley.domain.ids import digest, new_app_key
from parley.domain.refusals import Conflict, Invalid, NotFound
from parley.services.passwords import hash_password
from parley.store.protocol import AppKeyRecord, Store

DEMO_ACCOUNT = "12345"
# The key LivePerson's documentation publishes; only ever seeded by --demo.
DEMO_APP_KEY = "721c180b09eb463d9f3191c41762bb68"
DEMO_SKILLS = ("Sales", "Support")
DEMO_AGENT = "natalie"
# The demo's human agent, for the console (/console/): on Support, the skill the demo bot does not take.
DEMO_HUMAN = "alex"
DEMO_HUMAN_SKILL = "Support"
# Account ids appear in every API path: letters, digits and underscores (LivePerson's are digits).
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_]{1,20}$")
MAX_NAME_LENGTH = 200
# How many characters of a key's digest name it in lists and revocations (64 bits: no two keys
# of an account share one in practice, and it says nothing usable about the key).
KEY_ID_LENGTH = 16


def key_id(record: AppKeyRecord) -> str:
    return record.key_digest[:KEY_ID_LENGTH]


@dataclass
class Admin:
    store: Store

    async def accounts(self) -> list[Account]:
        return sorted((await self.store.load_directory()).accounts.values(), key=lambda a: a.id)

    async def account(self, account_id: str) -> Account:
        return self._account(await self.store.load_directory(), account_id)

    async def create_account(self, account_id: str, name: str | None = None, timezone: str = "UTC") -> str:
        if not ACCOUNT_ID.match(account_id or ""):
            raise Invalid("an account id is 1 to 20 letters, digits or underscores")
        _check_name(name, "account name")
        _check_zone(timezone)
        directory = await self.store.load_directory()
        if account_id in directory.accounts:
            raise Invalid(f"account {account_id} already exists")
        await self.store.create_account(Account(account_id, name or account_id, timezone))
        return await self.create_app_key(account_id)

    async def update_account(
        self,
        account_id: str,
        name: str | None = None,
        timezone: str | None = None,
        default_skill: str | None = None,
        offline_email: str | None = None,
    ) -> Account:
        directory = await self.store.load_directory()
        account = self._account(directory, account_id)
        if name:
            _check_name(name, "account name")
            account.name = name
        if timezone:
            _check_zone(timezone)
            account.timezone = timezone
        if default_skill:
            account.default_skill_id = self._skill_ids(directory, account_id, [default_skill])[0]
            if directory.skills[account.default_skill_id].retired:
                raise Invalid(f"skill {default_skill!r} is retired: it cannot be the default")
        if offline_email is not None:
            if offline_email and not valid_email(offline_email):
                raise Invalid(f"not an e-mail address: {offline_email!r}")
            account.offline_email = offline_email or None
        await self.store.update_account(account)
        return account

    async def create_app_key(self, account_id: str, key: str | None = None) -> str:
        self._account(await self.store.load_directory(), account_id)
        key = key or new_app_key()
        await self.store.add_app_key(account_id, digest(key))
        return key

    async def app_keys(self, account_id: str) -> list[AppKeyRecord]:
        """The account's keys as stored: an id (a prefix of the digest) and a time, never a key."""
        self._account(await self.store.load_directory(), account_id)
        return await self.store.app_keys(account_id)

    async def revoke_app_key(self, account_id: str, wanted: str) -> AppKeyRecord:
        """Delete the key: a server reloads its directory at once (the admin API) or within a
        second (a change by another process), and refuses the key from then on."""
        keys = [k for k in await self.app_keys(account_id) if wanted and key_id(k) == wanted.strip().lower()]
        if len(keys) != 1:
            raise NotFound(f"no app key {wanted!r} in account {account_id}")
        await self.store.delete_app_key(account_id, keys[0].key_digest)
        return keys[0]

    async def create_skill(self, account_id: str, name: str) -> int:
        directory = await self.store.load_directory()
        self._account(directory, account_id)
        if not name.strip():
            raise Invalid("a skill needs a name")
        if any(s.account_id == account_id and s.name.lower() == name.lower() for s in directory.skills.values()):
            raise Invalid(f"skill {name!r} already exists in account {account_id}")
        return await self.store.create_skill(account_id, name.strip())

    async def create_agent(
        self,
        account_id: str,
        login: str,
        password: str,
        nickname: str | None = None,
        skills: list[str] | None = None,
        max_chats: int = 4,
    ) -> int:
        directory = await self.store.load_directory()
        self._account(directory, account_id)
        if any(a.account_id == account_id and a.login == login for a in directory.agents.values()):
            raise Invalid(f"agent {login!r} already exists in account {account_id}")
        if not login or not password:
            raise Invalid("an agent needs a login and a password")
        _check_name(login, "agent login")
        _check_name(nickname, "agent nickname")
        _check_max_chats(max_chats)
        agent = Agent(
            id=0,
            account_id=account_id,
            login=login,
            password_hash=await hash_password(password),
            nickname=nickname or login,
            display_name=nickname or login,
            max_chats=max_chats,
            skill_ids=self._skill_ids(directory, account_id, skills or []),
        )
        return await self.store.create_agent(agent)

    async def skills(self, account_id: str) -> list[Skill]:
        directory = await self.store.load_directory()
        self._account(directory, account_id)
        return [s for s in directory.skills.values() if s.account_id == account_id]

    async def rename_skill(self, account_id: str, skill_id: int, name: str) -> Skill:
        """Chats, agents and surveys hold the skill's id: they follow the new name."""
        directory = await self.store.load_directory()
        self._account(directory, account_id)
        skill = directory.skills.get(skill_id)
        if skill is None or skill.account_id != account_id:
            raise NotFound(f"no skill {skill_id} in account {account_id}")
        name = name.strip()
        _check_name(name, "skill name")
        if not name:
            raise Invalid("a skill needs a name")
        if any(
            s.account_id == account_id and s.id != skill_id and s.name.lower() == name.lower()
            for s in directory.skills.values()
        ):
            raise Invalid(f"skill {name!r} already exists in account {account_id}")
        await self.store.rename_skill(skill_id, name)
        return Skill(skill_id, account_id, name)

    async def retire_skill(self, account_id: str, skill_id: int, retired: bool = True) -> Skill:
        """Retired: new chats naming it get the answer for an unknown skill, availability and
        transfers do not offer it; its waiting chats are still served by its agents, and chats
        keep its name. ``retired=False`` brings it back."""
        skill = self._skill(await self.store.load_directory(), account_id, skill_id)
        if skill.retired != retired:
            await self.store.retire_skill(skill_id, _now_ms() if retired else None)
        skill.retired = retired
        return skill

    async def delete_skill(self, account_id: str, skill_id: int, move_to: int | None = None) -> Skill:
        """Delete a skill: agents lose it, the account's default and its surveys go. Refused while
        chats wait for it, unless ``move_to`` names another (not retired) skill of the account:
        the leader then moves its open chats there (waiting ones are told they are transferred)."""
        directory = await self.store.load_directory()
        skill = self._skill(directory, account_id, skill_id)
        if move_to is not None:
            target = directory.skills.get(move_to)
            if target is None or target.account_id != account_id or target.id == skill_id or target.retired:
                raise Invalid(f"moveTo must be another skill of account {account_id} that is not retired")
        waiting = await self.store.waiting_chats(skill_id)
        if waiting and move_to is None:
            raise Conflict(
                f"{waiting} chat(s) wait for skill {skill.name!r}: name a skill to move them to (moveTo),"
                " or retire the skill instead"
            )
        await self.store.delete_skill(skill_id, move_to, _now_ms())
        return skill

    async def agents(self, account_id: str) -> list[Agent]:
        directory = await self.store.load_directory()
        self._account(directory, account_id)
        return [a for a in directory.agents.values() if a.account_id == account_id]

    async def agent(self, account_id: str, agent_id: int) -> Agent:
        return self._agent(await self.store.load_directory(), account_id, agent_id)

    async def update_agent(
        self,
        account_id: str,
        agent_id: int,
        nickname: str | None = None,
        skills: list[str] | None = None,
        max_chats: int | None = None,
        password: str | None = None,
        enabled: bool | None = None,
    ) -> Agent:
        """Change what is given. A running server applies it at once (the admin API) or within a
        second (the CLI); disabling also ends the agent's logins there: its chats are requeued
        (or ended when nobody could take them), as when an agent logs out."""
        directory = await self.store.load_directory()
        agent = self._agent(directory, account_id, agent_id)
        if nickname is not None:
            nickname = nickname.strip()
            if not nickname:
                raise Invalid("a nickname cannot be empty")
            _check_name(nickname, "agent nickname")
            agent.nickname = agent.display_name = nickname
        if skills is not None:
            agent.skill_ids = self._skill_ids(directory, account_id, skills)
        if max_chats is not None:
            agent.max_chats = _check_max_chats(max_chats)
        if password is not None:
            if not password:
                raise Invalid("a password cannot be empty")
            agent.password_hash = await hash_password(password)
        if enabled is not None:
            agent.enabled = enabled
        await self.store.update_agent(agent)
        return agent

    async def seed_demo(self) -> bool:
        """Create the demo account, key, skills and agent if absent; True when anything was created."""
        directory = await self.store.load_directory()
        if DEMO_ACCOUNT in directory.accounts:
            return False
        await self.store.create_account(Account(DEMO_ACCOUNT, "Demo", "UTC"))
        await self.create_app_key(DEMO_ACCOUNT, DEMO_APP_KEY)
        for name in DEMO_SKILLS:
            await self.create_skill(DEMO_ACCOUNT, name)
        await self.create_agent(DEMO_ACCOUNT, DEMO_AGENT, DEMO_AGENT, "Natalie", ["Sales"], 4)
        return True

    async def seed_demo_human(self) -> bool:
        """Add the demo's human agent (login and password ``alex``) if absent; True when created."""
        directory = await self.store.load_directory()
        if any(a.account_id == DEMO_ACCOUNT and a.login == DEMO_HUMAN for a in directory.agents.values()):
            return False
        await self.create_agent(DEMO_ACCOUNT, DEMO_HUMAN, DEMO_HUMAN, "Alex", [DEMO_HUMAN_SKILL], 4)
        return True

    @staticmethod
    def _account(directory, account_id: str) -> Account:
        if account_id not in directory.accounts:
            raise NotFound(f"no account {account_id}")
        return directory.accounts[account_id]

    def _skill(self, directory, account_id: str, skill_id: int) -> Skill:
        self._account(directory, account_id)
        skill = directory.skills.get(skill_id)
        if skill is None or skill.account_id != account_id:
            raise NotFound(f"no skill {skill_id} in account {account_id}")
        return skill

    def _agent(self, directory, account_id: str, agent_id: int) -> Agent:
        self._account(directory, account_id)
        agent = directory.agents.get(agent_id)
        if agent is None or agent.account_id != account_id:
            raise NotFound(f"no agent {agent_id} in account {account_id}")
        return agent

    @staticmethod
    def _skill_ids(directory, account_id: str, names: list[str]) -> list[int]:
        ids = []
        for name in names:
            match = [
                s.id
                for s in directory.skills.values()
                if s.account_id == account_id and s.name.lower() == name.strip().lower()
            ]
            if not match:
                raise Invalid(f"no skill {name!r} in account {account_id}")
            if match[0] not in ids:  # named twice: one row, not a duplicate key
                ids.append(match[0])
        return ids


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_name(name: str | None, what: str) -> None:
    if name is not None and (len(name) > MAX_NAME_LENGTH or not name.isprintable()):
        raise Invalid(f"an {what} is at most {MAX_NAME_LENGTH} printable characters")


# Chats at once: -1 is unlimited (agent spec §4.1); more than this is a typo, not a staffing plan.
MAX_CHATS = 1000


def _check_max_chats(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= MAX_CHATS:
        raise Invalid(f"maxChats is -1 (unlimited) or 0 to {MAX_CHATS}")
    return value


def _check_zone(name: str) -> None:
    try:
        if len(name) > 64:  # longer than any IANA name; the file system would refuse it (OSError)
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"unknown time zone {name!r}") from exc
