"""Canned responses of an account (a parley extension): any agent of the account reads, adds and
removes them; the bounds are the domain's."""

from __future__ import annotations

from parley.domain import canned
from parley.domain.canned import CannedResponse
from parley.domain.refusals import Forbidden, NotFound
from parley.services.engine import Engine


class CannedResponses:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.records = engine.store.canned

    async def of_account(self, account_id: str) -> list[CannedResponse]:
        return await self.records.for_account(account_id)

    async def add(self, account_id: str, title: str | None, text: str | None) -> int:
        title, text = canned.checked(title, text)
        created = await self.records.add(account_id, title, text, self.engine.clock(), canned.MAX_PER_ACCOUNT)
        if created is None:
            raise Forbidden(f"An account keeps at most {canned.MAX_PER_ACCOUNT} canned responses")
        return created

    async def remove(self, account_id: str, canned_id: int) -> None:
        if not await self.records.remove(account_id, canned_id):
            raise NotFound("Canned response not found")
