"""Application credentials: how a bot's agent user logs in to the Login Service (agent spec L1)
with an app key, a secret, an access token and an access token secret instead of a password.

The four values are made here, shown once, and stored only as the SHA-256 digest of the four
together: 384 random bits, so a fast digest is enough (a password's slow hash guards guessable
secrets) and one indexed read finds the set at a login. Made, listed and revoked by the admin API
and ``parley agent app-credentials``; a login reads the store, so a revocation holds from the next
login on, whichever node serves it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from parley.domain.ids import digest
from parley.domain.refusals import NotFound
from parley.services.accounts import Admin
from parley.store.protocol import AppCredentialRecord, Store

# The names of the L1 application-login body, in the order they are digested.
FIELDS = ("appKey", "secret", "accessToken", "accessTokenSecret")
# Hex characters of each value: the shapes of LivePerson's own (32, 16, 32, 16).
LENGTHS = (32, 16, 32, 16)


@dataclass(frozen=True)
class Credentials:
    """The four values, in the clear: only in the answer that made them."""

    app_key: str
    secret: str
    access_token: str
    access_token_secret: str

    def as_tree(self) -> dict[str, str]:
        return dict(zip(FIELDS, (self.app_key, self.secret, self.access_token, self.access_token_secret), strict=True))


def credentials_digest(app_key: str, secret: str, access_token: str, access_token_secret: str) -> str:
    # A separator no value holds, so two different sets never join into the same text.
    return digest("\n".join((app_key, secret, access_token, access_token_secret)))


class AppCredentials:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, account_id: str, agent_id: int) -> tuple[AppCredentialRecord, Credentials]:
        await Admin(self.store).agent(account_id, agent_id)
        made = Credentials(*(secrets.token_hex(length // 2) for length in LENGTHS))
        now = int(time.time() * 1000)
        credential_id = await self.store.app_credentials.add(
            agent_id, credentials_digest(made.app_key, made.secret, made.access_token, made.access_token_secret), now
        )
        return AppCredentialRecord(credential_id, agent_id, now), made

    async def list(self, account_id: str, agent_id: int) -> list[AppCredentialRecord]:
        await Admin(self.store).agent(account_id, agent_id)
        return await self.store.app_credentials.for_agent(agent_id)

    async def revoke(self, account_id: str, agent_id: int, credential_id: int) -> None:
        """Gone: the next login with them is refused (logins already open stay, as after a password
        reset; disable the agent to end them)."""
        await Admin(self.store).agent(account_id, agent_id)
        if not await self.store.app_credentials.remove(agent_id, credential_id):
            raise NotFound(f"no app credentials {credential_id} for agent {agent_id}")

    async def agent_of(self, app_key: str, secret: str, access_token: str, access_token_secret: str) -> int | None:
        """The agent these four values log in, or None."""
        return await self.store.app_credentials.agent_of(
            credentials_digest(app_key, secret, access_token, access_token_secret)
        )
