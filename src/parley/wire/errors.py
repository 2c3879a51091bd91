"""The API's error element, and the exception that carries it to the HTTP layer."""

from __future__ import annotations

from typing import Any

# internalCode values: 5, 10 and 12 are attested by the real service; the rest are ours.
BAD_BODY = 5
UNAUTHORIZED = 10
OUT_OF_RANGE = 11
NOT_FOUND = 12
METHOD = 13
TOO_LARGE = 14
# Server spec §7.2: what an overloaded or rate-limited request gets (the JS SDK retries it quietly).
RATE_LIMITED = 27
INTERNAL = 1
# /ready: the store does not answer, its schema is not this version's, or the server is stopping.
NOT_READY = 15


class ApiError(Exception):
    def __init__(self, status: int, internal_code: int, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.internal_code = internal_code
        self.message = message
        self.extra = extra
        # Response headers the error handler adds (Retry-After, WWW-Authenticate).
        self.headers: dict[str, str] = {}


def error_tree(time: str, error: ApiError) -> dict[str, Any]:
    body = {"time": time, "message": error.message, "internalCode": error.internal_code}
    body.update(error.extra)
    return {"error": body}
