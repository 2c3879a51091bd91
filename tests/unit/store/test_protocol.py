"""The seams of DESIGN §1: services know the Store and Bus protocols, never a backend, and each
backend implements every protocol method with the protocol's own signature."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from parley.bus import Bus
from parley.bus.local import LocalBus
from parley.store import protocol
from parley.store.postgres import PostgresStore
from parley.store.sqlite import SqliteStore

SOURCE = Path(protocol.__file__).resolve().parents[1]
STORE_BACKENDS = (
    "parley.store.sqlite",
    "parley.store.outbox",
    "parley.store.surveys",
    "parley.store.participants",
    "parley.store.canned",
    "parley.store.history",
    "parley.store.writer",
    "parley.store.postgres",
)
BUS_BACKENDS = ("parley.bus.local",)
# Where backends are chosen: the app factory (store and bus) and the CLI (through open_store).
COMPOSITION = {"parley/http/app.py"}


def methods(cls) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def implementations():
    found = []
    for store in (SqliteStore(":memory:"), PostgresStore("postgresql://nobody@127.0.0.1:1/none")):
        found += [
            (protocol.Store, type(store)),
            (protocol.MailRecords, type(store.mail)),
            (protocol.SurveyRecords, type(store.surveys)),
            (protocol.ParticipantRecords, type(store.participants)),
            (protocol.CannedRecords, type(store.canned)),
            (protocol.HistoryRecords, type(store.history)),
        ]
    return found + [(Bus, LocalBus)]


@pytest.mark.parametrize(
    "contract, backend", implementations(), ids=lambda c: f"{c.__module__.rsplit('.', 1)[-1]}.{c.__name__}"
)
def test_the_backend_implements_every_method_with_the_protocols_signature(contract, backend):
    wanted, offered = methods(contract), methods(backend)
    missing = sorted(set(wanted) - set(offered))
    assert not missing, f"{backend.__name__} lacks {missing}"
    for name, signature in wanted.items():
        theirs = offered[name]
        assert [(p.name, p.kind, p.default) for p in theirs.parameters.values()] == [
            (p.name, p.kind, p.default) for p in signature.parameters.values()
        ], f"{backend.__name__}.{name}"
        assert inspect.iscoroutinefunction(getattr(backend, name)) == inspect.iscoroutinefunction(
            getattr(contract, name)
        ), f"{backend.__name__}.{name} async or not as the protocol says"


@pytest.mark.parametrize(
    "store",
    [SqliteStore(":memory:"), PostgresStore("postgresql://nobody@127.0.0.1:1/none")],
    ids=["sqlite", "postgres"],
)
def test_the_stores_sub_records_are_attributes_the_protocol_names(store):
    for name in ("mail", "surveys", "participants", "canned", "history"):
        assert isinstance(vars(protocol.Store)[name], property)
        assert getattr(store, name) is not None


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_nothing_outside_the_store_and_the_composition_place_names_a_backend():
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE.parent).as_posix()
        if relative.startswith(("parley/store/", "parley/bus/")) or relative in COMPOSITION:
            continue
        named = {m for m in imports_of(path) if m.startswith(STORE_BACKENDS + BUS_BACKENDS)}
        if named:
            offenders.append(f"{relative}: {sorted(named)}")
    assert not offenders, offenders


def test_the_check_above_sees_a_backend_import(tmp_path):
    """The import walk is not blind: a module naming the SQLite backend is found."""
    module = tmp_path / "handler.py"
    module.write_text("from parley.store.sqlite import SqliteStore\nimport parley.bus.local\n")
    assert {"parley.store.sqlite", "parley.bus.local"} <= imports_of(module)
