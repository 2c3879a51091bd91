"""Visitor authentication (server spec V8) and what agents may learn of it (agent spec A25).

The ``ssoKey`` check: with ``--sso-jwt-key`` (an HMAC secret, or a PEM public key or its
path) the key must be a JWT with a valid signature and, if it says so, unexpired; without
one any non-empty key is accepted (a development setting). The JWT's claims are kept so
agents can see who they talk to.
"""

from __future__ import annotations

import os
import uuid

import jwt

from parley.domain.refusals import Invalid, Unauthenticated
from parley.services.engine import Engine
from parley.store.protocol import ParticipantRecord

# Claims that describe the customer; everything else in these lists is personal information.
CUSTOMER_KEYS = (
    "customerId",
    "customerStatus",
    "customerType",
    "balance",
    "socialId",
    "imei",
    "userName",
    "companySize",
    "accountName",
    "role",
    "registrationDate",
    "lastPaymentDate",
)
PERSONAL_KEYS = ("name", "surname", "contacts", "gender", "language", "company")


def _verifier(setting: str) -> tuple[str | bytes, list[str]]:
    """A PEM public key (inline or a file) verifies RS/ES/PS signatures; anything else is an HMAC secret."""
    text = setting
    if not setting.lstrip().startswith("-----BEGIN") and os.path.isfile(setting):
        text = open(setting, encoding="utf-8").read()
    if text.lstrip().startswith("-----BEGIN"):
        return text.encode(), ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"]
    return setting, ["HS256", "HS384", "HS512"]


def sso_claims(token: str, verify_with: str | None) -> dict:
    """The claims of ``token``; refused when a verifier is configured and the token fails it."""
    if verify_with:
        key, algorithms = _verifier(verify_with)
        try:
            return jwt.decode(token, key, algorithms=algorithms, options={"verify_aud": False})
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"ssoKey rejected: {exc}") from exc
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}  # an opaque key (an OAuth code): nothing to show agents
    return claims if isinstance(claims, dict) else {}


class Participants:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def authenticate(self, account_id: str, sso_key: str | None) -> ParticipantRecord:
        if not sso_key or not sso_key.strip():
            raise Invalid("ssoKey is required")
        claims = sso_claims(sso_key.strip(), self.engine.settings.secret("sso_jwt_key"))
        record = ParticipantRecord(str(uuid.uuid4()), account_id, str(uuid.uuid4()), claims)
        await self.engine.store.participants.insert(record)
        return record

    async def check(self, account_id: str, participant_id: str, conversation_id: str | None) -> ParticipantRecord:
        """An authenticated chat request must name a pair V8 handed out."""
        record = await self.engine.store.participants.load(account_id, participant_id)
        if record is None or (conversation_id is not None and record.conversation_id != conversation_id):
            raise Unauthenticated("Unknown participant")
        return record

    async def extended_info(self, account_id: str, participant_id: str) -> dict | None:
        record = await self.engine.store.participants.load(account_id, participant_id)
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
