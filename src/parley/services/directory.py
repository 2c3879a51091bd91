"""Lookups into the administrators' configuration (accounts, keys, skills, agents)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parley.domain.account import Account, Agent, Skill
from parley.domain.ids import digest
from parley.domain.refusals import NotFound, Unauthenticated
from parley.store.protocol import Directory


class DirectoryView:
    def __init__(self, snapshot: Directory) -> None:
        self.replace(snapshot)

    def replace(self, snapshot: Directory) -> None:
        self.snapshot = snapshot
        self._zones: dict[str, ZoneInfo] = {}

    def account(self, account_id: str) -> Account:
        account = self.snapshot.accounts.get(account_id)
        if account is None:
            raise NotFound("Account not found")
        return account

    def zone(self, account_id: str) -> ZoneInfo:
        zone = self._zones.get(account_id)
        if zone is None:
            account = self.snapshot.accounts.get(account_id)
            try:
                zone = ZoneInfo(account.timezone if account else "UTC")
            except (ZoneInfoNotFoundError, ValueError):
                zone = ZoneInfo("UTC")
            self._zones[account_id] = zone
        return zone

    def check_app_key(self, account_id: str, app_key: str | None) -> None:
        if not app_key or self.snapshot.key_digests.get(digest(app_key)) != account_id:
            raise Unauthenticated("Invalid User")

    def skills(self, account_id: str) -> list[Skill]:
        """The skills a new chat or a transfer may go to: retired ones are not offered."""
        return [
            skill for skill in self.snapshot.skills.values() if skill.account_id == account_id and not skill.retired
        ]

    def skill(self, skill_id: int | None) -> Skill | None:
        """Any skill by id, retired ones too (a chat keeps the name of the skill it came in on)."""
        return self.snapshot.skills.get(skill_id) if skill_id is not None else None

    def open_skill(self, skill_id: int | None) -> Skill | None:
        """A skill by id that a new chat may ask for: None when unknown or retired."""
        skill = self.skill(skill_id)
        return None if skill is None or skill.retired else skill

    def skill_named(self, account_id: str, name: str) -> Skill | None:
        """A skill a new chat may name; a retired one answers as an unknown name does."""
        wanted = name.strip().lower()
        for skill in self.skills(account_id):
            if skill.name.lower() == wanted:
                return skill
        return None

    def default_skill(self, account_id: str) -> Skill | None:
        """The account's marked default skill, else its first (compatibility rule 3); never a retired one."""
        account = self.snapshot.accounts.get(account_id)
        marked = self.open_skill(account.default_skill_id) if account else None
        if marked is not None:
            return marked
        skills = self.skills(account_id)
        return skills[0] if skills else None

    def agents(self, account_id: str) -> list[Agent]:
        return [agent for agent in self.snapshot.agents.values() if agent.account_id == account_id]

    def agent(self, agent_id: int) -> Agent | None:
        return self.snapshot.agents.get(agent_id)

    def agent_by_login(self, account_id: str, login: str) -> Agent | None:
        for agent in self.agents(account_id):
            if agent.login == login:
                return agent
        return None
