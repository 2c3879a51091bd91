"""Persistence behind one interface (``protocol.Store``): embedded SQLite, or PostgreSQL.
``open_store`` is where a backend is chosen; nothing outside this package names one."""

from __future__ import annotations

from parley.store.protocol import Store, StoreUnavailable

__all__ = ["Store", "StoreUnavailable", "claim_for_server", "database_path", "describe", "is_postgres", "open_store"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(url: str) -> bool:
    """A store many nodes share (the cluster mode); SQLite belongs to one process."""
    return url.startswith(POSTGRES_SCHEMES)


def database_path(url: str) -> str:
    """The SQLite file of a ``sqlite:///`` URL or a bare path (ValueError for any other URL)."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    if "://" in url:
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://user@host/db")
    return url


def describe(url: str) -> str:
    """The database as messages name it: the SQLite path, or the PostgreSQL URL without its password."""
    if is_postgres(url):
        from parley.store.postgres.database import shown

        return shown(url)
    return database_path(url)


class _NoClaim:
    def close(self) -> None:
        pass


def claim_for_server(url: str):
    """Hold an exclusive lock beside the database for as long as the returned file stays open.

    The embedded mode keeps the live view of open chats in one process: a second server on the
    same file would answer from a view that misses the first one's writes. A PostgreSQL database
    is claimed by nobody here: which node serves what is the cluster layer's business.
    """
    import fcntl

    if is_postgres(url):
        return _NoClaim()
    lock = open(database_path(url) + ".lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise RuntimeError(f"another parley server is already serving {url}") from None
    return lock


def open_store(url: str) -> Store:
    """``sqlite:///relative.db``, ``sqlite:////absolute/path.db``, a bare file path, or
    ``postgresql://user[:password]@host[:port]/database`` (also ``postgres://``)."""
    if is_postgres(url):
        from parley.store.postgres import PostgresStore  # the backend loads only when chosen

        return PostgresStore(url)
    from parley.store.sqlite import SqliteStore

    return SqliteStore(database_path(url))
