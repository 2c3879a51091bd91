"""The PostgreSQL store (asyncpg), for one server or many nodes sharing one database."""

from parley.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
