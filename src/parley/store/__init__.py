"""Persistence behind one interface (embedded SQLite today; PostgreSQL later)."""

from __future__ import annotations

from parley.store.sqlite import SqliteStore


def database_path(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    if "://" in url:
        raise ValueError(f"unsupported database URL {url!r}: only sqlite:/// is available in this version")
    return url


def claim_for_server(url: str):
    """Hold an exclusive lock beside the database for as long as the returned file stays open.

    The embedded mode keeps the live view of open chats in one process: a second server on the
    same file would answer from a view that misses the first one's writes.
    """
    import fcntl

    lock = open(database_path(url) + ".lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise RuntimeError(f"another parley server is already serving {url}") from None
    return lock


def open_store(url: str) -> SqliteStore:
    """``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` or a bare file path."""
    return SqliteStore(database_path(url))
