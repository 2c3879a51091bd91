"""Which store backend the e2e tests of this moment run on, and the databases standing for their
paths. A module of its own (not the conftest): pytest loads a conftest under a second name when a
test imports it, and the state must be one."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests import postgres

BACKENDS = ("sqlite", "postgres")
# The backend of the tests running now (set by the ``backend`` fixture), and the PostgreSQL
# database each database path stands for.
current = {"backend": "sqlite"}
postgres_databases: dict[Path, str] = {}


def database_url(database: Path) -> str:
    """The ``--database`` URL of the database this path stands for, on the current backend."""
    if current["backend"] == "sqlite":
        return f"sqlite:///{database}"
    database = Path(database).absolute()
    if database not in postgres_databases:
        postgres_databases[database] = postgres.create_database()
    return postgres_databases[database]


def query(database: Path, sql: str, *args) -> list[tuple]:
    """One SQL statement on the database of this path, as another process would run it (committed);
    ``$1`` placeholders on both backends."""
    url = database_url(database)
    if current["backend"] == "sqlite":
        with sqlite3.connect(database) as db:
            return [tuple(row) for row in db.execute(re.sub(r"\$(\d+)", r"?\1", sql), args).fetchall()]
    return postgres.run_sync(postgres.execute(url, sql, *args))
