"""``parley bot``: an agent that logs in over HTTP, accepts rings, greets and echoes each visitor line."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from parley.client import AgentClient, ApiCallError

log = logging.getLogger("parley.bot")

# Long-poll holds: the server answers as soon as something rings or a line arrives, so the
# bot reacts at once while sending a request only every 20 s when idle (limit: 50 s).
HOLD_SECONDS = 20
# The Login Service asks for a refresh every 3–5 minutes.
REFRESH_SECONDS = 180
RETRY_SECONDS = 2.0


def echo(text: str) -> str:
    return f"You said: {text}"


class Bot:
    def __init__(
        self,
        url: str,
        account: str,
        login: str,
        password: str,
        *,
        answer=echo,
        hold_seconds: float = HOLD_SECONDS,
        app_credentials: dict | None = None,
    ) -> None:
        self.url, self.account, self.login_name, self.password = url, account, login, password
        # appKey, secret, accessToken, accessTokenSecret: log in as an application instead of by password.
        self.app_credentials = app_credentials
        self.answer = answer
        self.hold_seconds = hold_seconds
        self.client: AgentClient | None = None
        self.nickname = login
        self._chats: dict[str, asyncio.Task] = {}

    @property
    def _signed_in(self) -> AgentClient:
        if self.client is None:  # run() signs in before anything else uses the client
            raise RuntimeError("the bot has not signed in")
        return self.client

    async def sign_in(self) -> None:
        if self.client is not None:
            await self.client.close()
        self.client = AgentClient(self.url, self.account)
        if self.app_credentials:
            names = ("appKey", "secret", "accessToken", "accessTokenSecret")
            await self.client.login_application(self.login_name, *(self.app_credentials[n] for n in names))
        else:
            await self.client.login(self.login_name, self.password)
        await self.client.start_session()
        await self.client.set_availability("Online")
        self.nickname = (await self.client.info())["agentName"]
        log.info("bot %s online in account %s", self.login_name, self.account)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        last_refresh = loop.time()
        signed_in = False
        while not stop.is_set():
            try:
                if not signed_in:
                    await self.sign_in()
                    signed_in = True
                    last_refresh = loop.time()
                if loop.time() - last_refresh > REFRESH_SECONDS:
                    await self._signed_in.refresh()
                    last_refresh = loop.time()
                if await self._signed_in.ringing_count(wait=self.hold_seconds) > 0:
                    chat_uri = await self._accept()
                    if chat_uri and chat_uri not in self._chats:
                        self._chats[chat_uri] = asyncio.create_task(self._converse(chat_uri))
                self._chats = {uri: task for uri, task in self._chats.items() if not task.done()}
                continue
            except Exception as exc:  # keep serving whatever happened: log, wait, retry
                log.warning("bot: %s; retrying", exc)
                # A lost login or agent session needs a new sign-in; anything else is retried as is.
                if isinstance(exc, ApiCallError) and exc.status in (401, 404):
                    signed_in = False
                await _sleep_or_stop(stop, RETRY_SECONDS)
        await self.close()

    async def close(self) -> None:
        for task in self._chats.values():
            task.cancel()
        if self.client is not None:
            await self.client.close()

    async def _accept(self) -> str | None:
        try:
            return await self._signed_in.accept()
        except ApiCallError as exc:
            if exc.status == 404:  # the ring went away between the count and the accept
                return None
            raise

    async def _converse(self, chat_uri: str) -> None:
        client = self._signed_in
        try:
            await client.send_line(chat_uri, f"Hi, I'm {self.nickname}. How can I help you today?")
            href = chat_uri + "/events"
            while True:
                events, href = await client.events(href, wait=self.hold_seconds)
                for event in events:
                    if event.get("@type") == "state" and event.get("state") == "ended":
                        return
                    if event.get("@type") == "line" and event.get("source") == "visitor":
                        await client.send_line(chat_uri, self.answer(str(event.get("text", ""))))
        except ApiCallError as exc:
            log.info("bot: a chat closed (%s)", exc.status)  # its URI names the chat's key: not logged


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
