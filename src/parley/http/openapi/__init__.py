"""The OpenAPI 3.1 document of every route, served at ``/openapi.json``.

Written as YAML beside this module (one file per API surface, so none grows past a screenful of
screens); each part brings ``paths``, ``components`` and the ``security`` its operations default to.
``x-``-prefixed top-level keys of a part are YAML anchors only and are dropped.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response

PARTS = (
    "services.yaml",
    "visitor.yaml",
    "agent.yaml",
    "bridge.yaml",
    "widget.yaml",
    "console.yaml",
    "admin.yaml",
    "admin_surveys.yaml",
    "app_credentials.yaml",
    "history.yaml",
    "webhooks.yaml",
)
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _load(name: str) -> dict:
    return yaml.safe_load(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@cache
def document() -> dict:
    doc = _load("document.yaml")
    for name in PARTS:
        part = _load(name)
        for section, entries in part.get("components", {}).items():
            shared = doc["components"].setdefault(section, {})
            clash = set(shared) & set(entries)
            if clash:
                raise ValueError(f"{name} redefines components.{section}: {sorted(clash)}")
            shared.update(entries)
        for path, item in part["paths"].items():
            if path in doc["paths"]:
                raise ValueError(f"{name} redefines path {path}")
            if "security" in part:
                for method in METHODS:
                    if method in item:
                        item[method].setdefault("security", part["security"])
            doc["paths"][path] = item
    return doc


@cache
def _rendered() -> bytes:
    # YAML anchors make shared objects; orjson writes each occurrence out in full.
    return orjson.dumps(document())


async def openapi_json(request: Request) -> Response:
    return Response(_rendered(), media_type="application/json")
