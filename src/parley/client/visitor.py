"""Visitor side: availability, start a chat, poll, lines, name, typing, end."""

from __future__ import annotations

import httpx

from parley.client.errors import as_list, checked, json_href

PUT = {"X-HTTP-Method-Override": "PUT"}


class VisitorClient:
    def __init__(self, base_url: str, account: str, app_key: str, http: httpx.AsyncClient | None = None) -> None:
        self.base = f"{base_url.rstrip('/')}/api/account/{account}"
        self.key = app_key
        self.http = http or httpx.AsyncClient(timeout=30)
        self.chat_uri: str | None = None
        self.next_href: str | None = None

    def _url(self, href: str, query: str = "") -> str:
        url = json_href(href)
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}v=1&NC=true&appKey={self.key}{query}"

    async def close(self) -> None:
        await self.http.aclose()

    async def available(self, skill: str | None = None) -> bool:
        query = f"&skill={skill}" if skill else ""
        response = checked(await self.http.get(self._url(self.base + "/chat/availability", query)))
        return response.json()["availability"]

    async def request_chat(self, **fields) -> str:
        response = checked(await self.http.post(self._url(self.base + "/chat/request"), json={"request": fields}))
        self.chat_uri = response.headers["location"]
        self.next_href = self.chat_uri + "/events"
        return self.chat_uri

    async def chat(self) -> dict:
        return checked(await self.http.get(self._url(self.chat_uri))).json()["chat"]

    async def poll(self, wait: float | None = None) -> list[dict]:
        """New events since the last poll, following the ``next`` link; ``wait`` long-polls."""
        url = self._url(self.next_href, f"&wait={wait}" if wait else "")
        events = checked(await self.http.get(url, timeout=(wait or 0) + 30)).json()["events"]
        self.next_href = next(link["@href"] for link in as_list(events["link"]) if link["@rel"] == "next")
        return as_list(events.get("event"))

    async def send_line(self, text: str) -> str:
        response = checked(
            await self.http.post(self._url(self.chat_uri + "/events"), json={"event": {"@type": "line", "text": text}})
        )
        return response.headers["location"]

    async def set_name(self, name: str) -> None:
        checked(
            await self.http.post(
                self._url(self.chat_uri + "/info/visitorName"), json={"visitorName": name}, headers=PUT
            )
        )

    async def set_typing(self, typing: bool) -> None:
        value = "typing" if typing else "not-typing"
        checked(
            await self.http.post(
                self._url(self.chat_uri + "/info/visitorTyping"), json={"visitorTyping": value}, headers=PUT
            )
        )

    async def end(self) -> None:
        checked(
            await self.http.post(
                self._url(self.chat_uri + "/events"), json={"event": {"@type": "state", "state": "ended"}}
            )
        )
