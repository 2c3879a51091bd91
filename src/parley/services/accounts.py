"""Administration: accounts, app keys, skills and agents (what the CLI creates)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parley.domain.account import Account, Agent
from parley.domain.email import valid_email
from parley.domain.ids import digest, new_app_key
from parley.domain.refusals import Invalid
from parley.services.passwords import hash_password
from parley.store.protocol import Store

DEMO_ACCOUNT = "12345"
# The key LivePerson's documentation publishes; only ever seeded by --demo.
DEMO_APP_KEY = "721c180b09eb463d9f3191c41762bb68"
DEMO_SKILLS = ("Sales", "Support")
DEMO_AGENT = "natalie"
# The demo's human agent, for the console (/console/): on Support, the skill the demo bot does not take.
DEMO_HUMAN = "alex"
DEMO_HUMAN_SKILL = "Support"


@dataclass
class Admin:
    store: Store

    async def create_account(self, account_id: str, name: str | None = None, timezone: str = "UTC") -> str:
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
            account.name = name
        if timezone:
            _check_zone(timezone)
            account.timezone = timezone
        if default_skill:
            account.default_skill_id = self._skill_ids(directory, account_id, [default_skill])[0]
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
            raise Invalid(f"no account {account_id}")
        return directory.accounts[account_id]

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
            ids.append(match[0])
        return ids


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"unknown time zone {name!r}") from exc
