"""Persistence behind one interface (``protocol.Store``): embedded SQLite today; PostgreSQL later.
``open_store`` is where a backend is chosen; nothing outside this package names one."""

from __future__ import annotations

from parley.store.protocol import Store


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


def clustered(url: str) -> bool:
    """A store many nodes share (PostgreSQL); SQLite belongs to one process."""
    return url.startswith(("postgresql://", "postgres://"))


def open_store(url: str) -> Store:
    """``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` or a bare file path."""
    from parley.store.sqlite import SqliteStore  # the backend loads only when chosen

    return SqliteStore(database_path(url))
