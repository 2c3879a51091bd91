"""``/health`` (alive) and ``/ready`` (store answers, schema current) at the wire."""

from __future__ import annotations

import sqlite3
from importlib import metadata

from lxml import etree

from parley.store.migrations import STEPS


def test_health_names_the_version(server, http):
    answer = http.get(f"{server.url}/health")
    assert answer.status_code == 200
    assert answer.json() == {"health": {"status": "ok", "version": metadata.version("parley")}}
    as_xml = etree.fromstring(http.get(f"{server.url}/health.xml").content)
    assert (as_xml.tag, as_xml.findtext("status")) == ("health", "ok")


def test_ready_when_the_store_answers_with_the_current_schema(server, http):
    answer = http.get(f"{server.url}/ready")
    assert answer.status_code == 200
    assert answer.json() == {"ready": {"status": "ready", "version": metadata.version("parley"), "schema": len(STEPS)}}
    as_xml = etree.fromstring(http.get(f"{server.url}/ready.xml").content)
    assert (as_xml.tag, as_xml.findtext("schema")) == ("ready", str(len(STEPS)))


def test_not_ready_when_the_schema_is_behind(server, database, http):
    """A database whose newest migration step is missing (an older server's, or one migrated
    halfway) is not one this version can serve: 503 in the API's error format, and ready again
    once the step is back."""
    with sqlite3.connect(database) as db:
        applied_ms = db.execute("SELECT applied_ms FROM schema_migrations WHERE version = ?", (len(STEPS),)).fetchone()[0]
        db.execute("DELETE FROM schema_migrations WHERE version = ?", (len(STEPS),))
    answer = http.get(f"{server.url}/ready.json")
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["internalCode"] == 15
    assert f"schema at step {len(STEPS) - 1}, this version needs {len(STEPS)}" in error["message"]
    assert http.get(f"{server.url}/health").status_code == 200  # alive all the same

    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)", (len(STEPS), applied_ms))
    assert http.get(f"{server.url}/ready").status_code == 200


def test_not_ready_when_the_store_is_gone(server, database, http):
    """The schema table unreadable (the database replaced under the server): 503, not a 500."""
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE schema_migrations RENAME TO schema_migrations_moved")
    try:
        answer = http.get(f"{server.url}/ready")
        assert answer.status_code == 503
        assert "store unreachable" in answer.json()["error"]["message"]
    finally:
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE schema_migrations_moved RENAME TO schema_migrations")
