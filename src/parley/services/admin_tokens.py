"""Admin tokens: the bearers of the ``/admin/v1/`` API, made and revoked by ``parley admin-token``.

A token is shown once, when created; the store keeps its digest (SHA-256: the token is 256 random
bits, so no slow hash is needed), a name saying whose or what it is for, and when it was created
and revoked. Every admin request looks its token up in the store, not in a cache, so a revocation
holds on the next request, on every node.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from parley.domain.ids import digest, new_admin_token
from parley.domain.refusals import Invalid, NotFound, Unauthenticated
from parley.store.protocol import AdminToken, Store

MAX_NAME_LENGTH = 100
# Longer than any token we make, short enough that hashing a hostile header costs nothing.
MAX_TOKEN_LENGTH = 200


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class AdminTokens:
    store: Store

    async def create(self, name: str) -> tuple[int, str]:
        """(id, token): the token itself exists only in this answer."""
        name = name.strip()
        if not name:
            raise Invalid("an admin token needs a name (whose it is, or what it is for)")
        if len(name) > MAX_NAME_LENGTH or not name.isprintable():
            raise Invalid(f"an admin token's name is at most {MAX_NAME_LENGTH} printable characters")
        token = new_admin_token()
        token_id = await self.store.create_admin_token(name, digest(token), _now_ms())
        return token_id, token

    async def list(self) -> list[AdminToken]:
        return await self.store.admin_tokens()

    async def revoke(self, token_id: int) -> AdminToken:
        """Refused from the next request on; revoking a revoked token is refused (it says so)."""
        known = {token.id: token for token in await self.store.admin_tokens()}
        if token_id not in known:
            raise NotFound(f"no admin token {token_id}")
        if known[token_id].revoked_ms is not None:
            raise Invalid(f"admin token {token_id} is already revoked")
        await self.store.revoke_admin_token(token_id, _now_ms())
        return (await self.store.admin_token(known[token_id].token_digest)) or known[token_id]

    async def authenticate(self, token: str | None) -> AdminToken:
        """The live token this bearer is; one message for absent, unknown and revoked alike."""
        if token and len(token) <= MAX_TOKEN_LENGTH:
            found = await self.store.admin_token(digest(token))
            if found is not None and found.revoked_ms is None:
                return found
        raise Unauthenticated("A valid admin token is required (Authorization: Bearer <token>)")
