"""Visitor authentication (server spec V8) and what agents may learn of it (agent spec A25).

The ``ssoKey`` check is pluggable: the default accepts any non-empty key. When the key is a
JWT, its claims are kept (unverified: signature checks belong to a configured verifier,
which this version does not have) so agents can see who they talk to.
"""

from __future__ import annotations

import base64
import binascii
import uuid

import orjson

from parley.domain.refusals import Invalid, Unauthenticated
from parley.services.engine import Engine
from parley.store.participants import ParticipantRecord, insert_participant, load_participant

# Claims that describe the customer; everything else in these lists is personal information.
CUSTOMER_KEYS = ("customerId", "customerStatus", "customerType", "balance", "socialId", "imei", "userName",
                 "companySize", "accountName", "role", "registrationDate", "lastPaymentDate")
PERSONAL_KEYS = ("name", "surname", "contacts", "gender", "language", "company")


def jwt_claims(token: str) -> dict:
    """The payload of a JWT-looking key; {} for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class Participants:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def authenticate(self, account_id: str, sso_key: str | None) -> ParticipantRecord:
        if not sso_key or not sso_key.strip():
            raise Invalid("ssoKey is required")
        record = ParticipantRecord(str(uuid.uuid4()), account_id, str(uuid.uuid4()), jwt_claims(sso_key.strip()))
        await insert_participant(self.engine.store, record)
        return record

    async def check(self, account_id: str, participant_id: str, conversation_id: str | None) -> ParticipantRecord:
        """An authenticated chat request must name a pair V8 handed out."""
        record = await load_participant(self.engine.store, account_id, participant_id)
        if record is None or (conversation_id is not None and record.conversation_id != conversation_id):
            raise Unauthenticated("Unknown participant")
        return record

    async def extended_info(self, account_id: str, participant_id: str) -> dict | None:
        record = await load_participant(self.engine.store, account_id, participant_id)
        if record is None:
            return None
        claims = record.claims
        info = {"isUserAuthenticated": True, "participantId": record.id}
        sde = claims.get("lp_sdes") if isinstance(claims.get("lp_sdes"), list) else []
        for item in [claims] + [i.get("info", {}) for i in sde if isinstance(i, dict)]:
            info.update({k: item[k] for k in CUSTOMER_KEYS if k in item})
        personal = {}
        for item in [claims] + [i.get("personal", {}) for i in sde if isinstance(i, dict)]:
            personal.update({k: item[k] for k in PERSONAL_KEYS if k in item})
        tree = {"authenticatedParticipantInfo": info}
        if personal:
            tree["authenticatedPersonalInfo"] = personal
        return tree
