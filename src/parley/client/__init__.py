"""A small Python client for both sides of the API (used by ``parley bot`` and the tests)."""

from parley.client.agent import AgentClient
from parley.client.errors import ApiCallError
from parley.client.visitor import VisitorClient

__all__ = ["AgentClient", "ApiCallError", "VisitorClient"]
