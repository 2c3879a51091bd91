"""Why the rules refuse a request. The HTTP layer maps each kind to a status and error code."""

from __future__ import annotations


class Refusal(Exception):
    """Base class: the request is refused and nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Malformed(Refusal):
    """The body is not a document of the expected shape (a required element is missing)."""


class Invalid(Refusal):
    """A value is of the wrong type or out of range."""


class Unauthenticated(Refusal):
    """Missing, unknown or expired credentials."""


class Forbidden(Refusal):
    """Not allowed in the current state (e.g. a line on an ended chat)."""


class Conflict(Refusal):
    """The change would leave something behind it cannot handle (a skill deleted under waiting chats)."""


class NotFound(Refusal):
    """The chat, event or session does not exist for this caller (or has expired)."""

    def __init__(self, message: str = "Chat session not found") -> None:
        super().__init__(message)
