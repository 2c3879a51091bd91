"""Agent side: Login Service, agent session, availability, rings, chats."""

from __future__ import annotations

import httpx

from parley.client.errors import as_list, checked, json_href

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
PUT = {"X-HTTP-Method-Override": "PUT"}


class AgentClient:
    def __init__(self, base_url: str, account: str, http: httpx.AsyncClient | None = None) -> None:
        self.base = f"{base_url.rstrip('/')}/api/account/{account}"
        self.http = http or httpx.AsyncClient(timeout=30)
        self.bearer: str | None = None
        self.csrf: str | None = None
        self.session_uri: str | None = None
        self.login_name: str | None = None

    @property
    def _session(self) -> str:
        if self.session_uri is None:
            raise RuntimeError("no agent session yet: call start_session first")
        return self.session_uri

    @property
    def _auth(self) -> dict:
        return {**JSON_HEADERS, "Authorization": f"Bearer {self.bearer}"}

    async def close(self) -> None:
        await self.http.aclose()

    async def login(self, username: str, password: str) -> dict:
        return await self._login({"username": username, "password": password})

    async def login_application(
        self, username: str, app_key: str, secret: str, access_token: str, access_token_secret: str
    ) -> dict:
        """The Login Service's application login (how LivePerson tells bots to log in): the four
        values ``parley agent app-credentials create`` (or the admin API) made for this user."""
        return await self._login(
            {
                "username": username,
                "appKey": app_key,
                "secret": secret,
                "accessToken": access_token,
                "accessTokenSecret": access_token_secret,
            }
        )

    async def _login(self, body: dict) -> dict:
        response = checked(await self.http.post(f"{self.base}/login?v=1.3", json=body, headers=JSON_HEADERS))
        body = response.json()
        self.bearer, self.csrf = body["bearer"], body["csrf"]
        self.login_name = body["config"]["loginName"]
        return body

    async def refresh(self) -> None:
        checked(await self.http.post(f"{self.base}/refresh?v=1.3", json={"csrf": self.csrf}, headers=JSON_HEADERS))

    async def logout(self) -> None:
        checked(await self.http.post(f"{self.base}/logout?v=1.3", json={"csrf": self.csrf}, headers=JSON_HEADERS))

    async def start_session(self) -> str:
        response = checked(
            await self.http.post(
                f"{self.base}/agentSession.json?v=1&NC=true", json={"loginData": ""}, headers=self._auth
            )
        )
        self.session_uri = response.json()["agentSessionLocation"]["link"]["@href"]
        return self.session_uri

    async def info(self) -> dict:
        response = checked(await self.http.get(json_href(self._session + "/info") + "?v=1", headers=self._auth))
        return response.json()["info"]

    async def set_availability(self, value: str) -> dict:
        response = checked(
            await self.http.post(
                json_href(self._session + "/availability") + "?v=1",
                json={"availability": {"chat": value}},
                headers={**self._auth, **PUT},
            )
        )
        return response.json()["availability"]

    async def ringing_count(self, wait: float | None = None) -> int:
        """Rings for this agent; ``wait`` holds the request until something rings (long-poll)."""
        query = f"&wait={wait}" if wait else ""
        response = checked(
            await self.http.get(
                json_href(self._session + "/incomingRequests") + f"?v=1&NC=true{query}",
                headers=self._auth,
                timeout=(wait or 0) + 30,
            )
        )
        return int(response.json()["incomingRequests"]["ringingCount"])

    async def accept(self) -> str:
        """Accept the oldest ring; returns the chat URI within this agent session."""
        response = checked(
            await self.http.post(
                json_href(self._session + "/incomingRequests") + "?v=1&NC=true",
                json={"chat": "start"},
                headers=self._auth,
            )
        )
        return response.json()["chatLocation"]["link"]["@href"]

    async def chat(self, chat_uri: str) -> dict:
        response = checked(await self.http.get(json_href(chat_uri), headers=self._auth))
        return response.json()["chat"]

    async def events(self, href: str, wait: float | None = None) -> tuple[list[dict], str]:
        """Events at ``href`` (an events URI or its ``next`` link) and the next link to poll;
        ``wait`` holds the request until there is something new (long-poll)."""
        url = json_href(href)
        if wait:
            url += ("&" if "?" in url else "?") + f"wait={wait}"
        response = checked(await self.http.get(url, headers=self._auth, timeout=(wait or 0) + 30))
        events = response.json()["events"]
        next_href = next(link["@href"] for link in as_list(events["link"]) if link["@rel"] == "next")
        return as_list(events.get("event")), next_href

    async def send_line(
        self,
        chat_uri: str,
        text: str,
        *,
        text_type: str = "plain",
        sub_type: str | None = None,
        content: dict | None = None,
    ) -> str:
        event: dict[str, str | dict] = {"@type": "line", "text": text, "textType": text_type}
        if sub_type:
            event["subType"] = sub_type
        if content is not None:
            event["json"] = content
        response = checked(
            await self.http.post(json_href(chat_uri + "/events"), json={"event": event}, headers=self._auth)
        )
        return response.headers["location"]

    async def set_typing(self, chat_uri: str, typing: bool) -> None:
        value = "typing" if typing else "not-typing"
        checked(
            await self.http.post(
                json_href(chat_uri + "/info/agentTyping"), json={"agentTyping": value}, headers={**self._auth, **PUT}
            )
        )

    async def end_chat(self, chat_uri: str) -> None:
        checked(
            await self.http.post(
                json_href(chat_uri + "/events"),
                json={"event": {"@type": "state", "state": "ended"}},
                headers=self._auth,
            )
        )
