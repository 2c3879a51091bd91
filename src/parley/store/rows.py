"""How a chat's fields become columns and back, the same for every backend (rows are stored alike)."""

from __future__ import annotations

from parley.domain.chat import Chat, Routing

# A chat's routing is kept in its details column under these keys (the names the request used),
# so stores written before Routing existed read the same.
ROUTING_KEYS = {"priority": "queuePriority", "direct_agent_id": "directAgentId", "transfer_target": "transferTarget",
                "max_wait_seconds": "maxWaitTime", "transferred": "transferred", "requeued": "requeued"}
_DEFAULT_ROUTING = Routing()


def stored_details(chat: Chat) -> dict:
    stored = dict(chat.details)
    for name, key in ROUTING_KEYS.items():
        value = getattr(chat.routing, name)
        if value != getattr(_DEFAULT_ROUTING, name):
            stored[key] = value
    return stored


def routing(details: dict) -> Routing:
    """Takes the routing keys out of ``details``."""
    values = {name: details.pop(key) for name, key in ROUTING_KEYS.items() if key in details}
    return Routing(**values)
