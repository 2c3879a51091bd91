"""``/health`` (alive) and ``/ready`` (store answers, schema current) at the wire."""

from __future__ import annotations

from importlib import metadata

from lxml import etree

from parley.store.migrations import STEPS
from tests.e2e.conftest import query


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
    ((applied_ms,),) = query(database, "SELECT applied_ms FROM schema_migrations WHERE version = $1", len(STEPS))
    query(database, "DELETE FROM schema_migrations WHERE version = $1", len(STEPS))
    answer = http.get(f"{server.url}/ready.json")
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["internalCode"] == 15
    assert f"schema at step {len(STEPS) - 1}, this version needs {len(STEPS)}" in error["message"]
    assert http.get(f"{server.url}/health").status_code == 200  # alive all the same

    query(database, "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)", len(STEPS), applied_ms)
    assert http.get(f"{server.url}/ready").status_code == 200


def test_not_ready_when_the_store_is_gone(server, database, http):
    """The schema table unreadable (the database replaced under the server): 503, not a 500."""
    query(database, "ALTER TABLE schema_migrations RENAME TO schema_migrations_moved")
    try:
        answer = http.get(f"{server.url}/ready")
        assert answer.status_code == 503
        assert "store unreachable" in answer.json()["error"]["message"]
    finally:
        query(database, "ALTER TABLE schema_migrations_moved RENAME TO schema_migrations")
