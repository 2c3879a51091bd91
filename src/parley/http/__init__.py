"""The ASGI application: one module per API surface, thin handlers that call services."""
