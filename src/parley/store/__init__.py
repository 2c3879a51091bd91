"""Persistence behind one interface (embedded SQLite today; PostgreSQL later)."""

from __future__ import annotations

from parley.store.sqlite import SqliteStore


def open_store(url: str) -> SqliteStore:
    """``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` or a bare file path."""
    if url.startswith("sqlite:///"):
        return SqliteStore(url[len("sqlite:///"):])
    if "://" in url:
        raise ValueError(f"unsupported database URL {url!r}: only sqlite:/// is available in this version")
    return SqliteStore(url)
