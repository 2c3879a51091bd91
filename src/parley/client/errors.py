"""The error a client call raises when the server answers outside 2xx."""

from __future__ import annotations

import httpx


class ApiCallError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.body = response.text
        super().__init__(f"{response.request.method} {response.request.url} -> {self.status}: {self.body[:300]}")


def checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 300:
        raise ApiCallError(response)
    return response


def json_href(href: str) -> str:
    """Clients append ``.json`` to hrefs before any query, as the JS SDK does."""
    path, sep, rest = href.partition("?")
    return f"{path}.json{sep}{rest}"


def as_list(value) -> list:
    """The API sends one item as an object and several as an array."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
