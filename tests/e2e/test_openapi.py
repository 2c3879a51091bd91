"""The OpenAPI document: valid 3.1, served at /openapi.json, and equal to the app's routes both ways
(a route nobody documented, or a documented operation nobody serves, fails here)."""

from __future__ import annotations

import re

from openapi_spec_validator import validate
from starlette.routing import Route

from parley.config import Settings
from parley.http.app import create_app
from parley.http.gateway import clean_path
from parley.http.openapi import METHODS, document
from parley.wire.negotiation import split_suffix

# Starlette answers HEAD wherever it answers GET; the document names GET only.
IMPLICIT = {"HEAD"}


def served(tmp_path) -> set[tuple[str, str]]:
    gateway = create_app(Settings(database=f"sqlite:///{tmp_path / 'routes.db'}"))
    pairs = set()
    for route in gateway.app.routes:
        assert isinstance(route, Route), f"unexpected route kind {route!r}"
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {chat_id:chat} → {chat_id}
        pairs |= {(path, method) for method in route.methods - IMPLICIT}
    return pairs


def documented() -> set[tuple[str, str]]:
    pairs = set()
    for path, item in document()["paths"].items():
        # Paths as the router sees them: the gateway strips a .json/.xml suffix first.
        routed, _ = split_suffix(clean_path(path))
        pairs |= {(routed, method.upper()) for method in METHODS if method in item}
    return pairs


def test_document_is_valid_openapi_3_1():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_route_is_documented_and_every_operation_served(tmp_path):
    routes, operations = served(tmp_path), documented()
    assert routes - operations == set(), "routes without documentation"
    assert operations - routes == set(), "documented operations the app does not serve"
    assert len(routes) > 50


def test_every_operation_documents_the_error_answers():
    doc = document()
    error_refs = {"#/components/schemas/Error", "#/components/schemas/ErrorContent"}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            answers = item[method]["responses"]
            assert {"405", "429"} <= set(answers), (method, path)
            if "requestBody" in item[method] and path != "/api/account/{account_id}/app/engagement/visitors":
                assert {"400", "413", "415"} <= set(answers), (method, path)
            for status, answer in answers.items():
                if status.startswith("4"):
                    ref = answer["$ref"].rsplit("/", 1)[1]
                    content = doc["components"]["responses"][ref]["content"]
                    assert {c["schema"]["$ref"] for c in content.values()} == error_refs


def test_served_at_openapi_json(server, http):
    response = http.get(server.url + "/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == document()
