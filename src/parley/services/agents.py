"""Agent use cases (Login Service and Chat Agent API): log in, sessions, availability, accept, lines."""

from __future__ import annotations

from dataclasses import dataclass

from parley.domain import chat as rules
from parley.domain import messages
from parley.domain.account import OCCUPIED, ONLINE, Agent, Skill
from parley.domain.chat import CHATTING, ENDED, NOT_TYPING, ONLY_TO_REP, WAITING, Chat, Typing
from parley.domain.html import sanitize
from parley.domain.ids import digest, new_agent_key, new_session_number, new_token
from parley.domain.numbers import is_integer, parse_integer
from parley.domain.refusals import Invalid, NotFound, Unauthenticated
from parley.domain.session import AgentSession, LoginSession
from parley.services import passwords
from parley.services.app_credentials import AppCredentials
from parley.services.engine import Engine
from parley.services.tally import tally


# Chat details that only steer the routing of a waiting chat; an accepted chat drops them.
@dataclass
class Login:
    session: LoginSession
    bearer: str


@dataclass
class AgentLine:
    text: str | None
    text_type: str = "plain"
    sub_type: str = "REGULAR"
    content: dict | None = None


@dataclass(frozen=True)
class Offer:
    """The chat the next accept would take (a parley extension of A8, for consoles): how long its
    visitor has waited, for which skill, and how long the ring has left (None: it never times out)."""

    wait_seconds: int
    skill_name: str | None
    ring_timeout: int | None
    seconds_left: int | None


class Agents:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- Login Service -----------------------------------------------------------------------

    async def login(self, account_id: str, username: str, password: str) -> tuple[Login, Agent]:
        engine = self.engine
        agent = engine.directory.agent_by_login(account_id, username)
        # Checked even for unknown users so response time does not reveal which logins exist.
        ok = await passwords.verify(agent.password_hash if agent else None, password)
        if agent is None or not ok or not agent.enabled:
            raise Unauthenticated("Invalid username or password")
        return await self._open_login(agent), agent

    async def login_application(
        self, account_id: str, username: str, app_key: str, secret: str, access_token: str, access_token_secret: str
    ) -> tuple[Login, Agent]:
        """L1's application login (a bot): the four values must be a set made for this agent user
        and not revoked. Refused exactly as a wrong password is, so nothing tells which part was wrong."""
        agent = self.engine.directory.agent_by_login(account_id, username)
        # Looked up even for unknown users, like the password check above.
        owner = await AppCredentials(self.engine.store).agent_of(app_key, secret, access_token, access_token_secret)
        if agent is None or owner != agent.id or not agent.enabled:
            raise Unauthenticated("Invalid username or password")
        return await self._open_login(agent), agent

    async def _open_login(self, agent: Agent) -> Login:
        engine = self.engine
        account_id = agent.account_id
        bearer = new_token()
        session = LoginSession(
            id=new_token()[:32],
            account_id=account_id,
            agent_id=agent.id,
            bearer_digest=digest(bearer),
            csrf=new_token(),
            expires_ms=engine.clock() + engine.settings.session_ttl * 1000,
        )
        await engine.store.insert_login(session)
        engine.presence.add_login(session)
        return Login(session, bearer)

    def login_session(self, account_id: str, session_id: str | None, csrf: str | None) -> LoginSession:
        """The login a refresh or logout names. The csrf token is the proof; the ``Session_id``
        cookie only picks the login faster (most scripts keep no cookies, some keep stale ones)."""
        presence = self.engine.presence
        session = presence.logins.get(session_id or "")
        if session is None or session.csrf != csrf:
            session = next((s for s in presence.logins.values() if csrf and s.csrf == csrf), None)
        if session is None or session.account_id != account_id or self._expired(session):
            raise Unauthenticated(
                "CSRF token invalid! The CSRF token on request does not match the CSRF token on the session"
            )
        return session

    async def refresh(self, session: LoginSession) -> None:
        expires = self.engine.clock() + self.engine.settings.session_ttl * 1000
        await self.engine.store.set_login_expiry(session.id, expires)
        session.expires_ms = expires

    async def logout(self, session: LoginSession) -> None:
        now = self.engine.clock()
        await self.engine.store.set_login_expiry(session.id, now)
        closed = self.engine.presence.drop_login(session)
        await self.engine.close_agent_sessions(closed)

    def _expired(self, session: LoginSession) -> bool:
        return session.expires_ms <= self.engine.clock()

    def authenticate(self, account_id: str, bearer: str | None) -> LoginSession:
        session = self.engine.presence.by_bearer.get(digest(bearer)) if bearer else None
        if session is None or session.account_id != account_id or self._expired(session):
            raise Unauthenticated("Invalid or expired bearer token")
        return session

    # -- agent sessions --------------------------------------------------------------------

    async def start_session(self, login: LoginSession) -> AgentSession:
        engine = self.engine
        now = engine.clock()
        first = not engine.presence.logged_in(login.agent_id)
        session = AgentSession(new_session_number(), login.account_id, login.agent_id, login.id, now, now)
        await engine.store.insert_agent_session(session)
        if first:
            availability = engine.settings.agent_default_availability
            await engine.store.save_availability(login.agent_id, availability)
            engine.presence.availability[login.agent_id] = availability
            engine.queue.idle_since[login.agent_id] = now
        engine.presence.add_session(session)
        engine.route()
        return session

    def session(self, login: LoginSession, session_id: int) -> AgentSession:
        session = self.engine.presence.sessions.get(session_id)
        if session is None or session.account_id != login.account_id:
            raise NotFound("Agent session not found")
        if session.agent_id != login.agent_id:
            raise Unauthenticated("The agent session belongs to another user")
        session.last_seen_ms = self.engine.clock()
        return session

    async def close_session(self, session: AgentSession) -> None:
        await self.engine.close_agent_sessions([session])

    async def set_availability(self, agent_id: int, availability: str) -> None:
        await self.engine.set_availability(agent_id, availability)

    def ringing_count(self, agent_id: int) -> int:
        return len(self.engine.queue.rings_of(agent_id))

    def next_offer(self, agent_id: int) -> Offer | None:
        """The oldest ring, the one A9 accepts first."""
        engine = self.engine
        for ring in engine.queue.rings_of(agent_id):
            chat = engine.chats.get(ring.chat_id)
            if chat is None or chat.state != WAITING:
                continue
            now = engine.clock()
            skill = engine.directory.skill(chat.skill_id)
            # In ring mode "all" rings wait until someone accepts (services.timers).
            timeout = engine.settings.ring_timeout if engine.settings.ring_mode != "all" else None
            left = None if timeout is None else max(0, (ring.since_ms + timeout * 1000 - now + 999) // 1000)
            return Offer(max(0, (now - chat.start_ms) // 1000), skill.name if skill else None, timeout, left)
        return None

    # -- chats -------------------------------------------------------------------------------

    async def accept(self, agent: Agent, request_key: str | None = None) -> Chat:
        engine = self.engine
        for ring in engine.queue.rings_of(agent.id):
            chat = engine.chats.get(ring.chat_id)
            if chat is None:
                continue
            async with engine.lock(chat.id):
                if chat.state != WAITING or engine.queue.ring_for(chat.id, agent.id) is None:
                    continue  # the visitor left, the ring timed out, or (ring mode all) someone was quicker
                now = engine.clock()
                engine.queue.note_acceptance(chat, now)
                await engine.append(
                    chat,
                    rules.acceptance(agent.nickname),
                    request_key,
                    state=CHATTING,
                    agent_id=agent.id,
                    chatting_ms=chat.chatting_ms or now,
                    visitor_typing=Typing(),
                    agent_typing=Typing(),
                    routing=chat.routing.accepted(),
                )
                engine.queue.idle_since[agent.id] = now
                return chat
        raise NotFound("No incoming chat request")

    def chat_of(self, agent: Agent, agent_key: str) -> Chat:
        """The chat an agent-side key names, only while assigned to this agent user; ended ones it
        held stay readable while retained. A transfer or requeue retires the key (404 after)."""
        chat = self.engine.assigned_chat(agent.account_id, agent_key)
        if chat.agent_id != agent.id or chat.state == WAITING:
            raise NotFound()
        return chat

    def open_chats(self, agent: Agent) -> list[Chat]:
        chats = [self.engine.chats[c] for c in self.engine.queue.assigned.get(agent.id, ()) if c in self.engine.chats]
        return sorted(chats, key=lambda c: c.start_ms)

    async def post_line(self, agent: Agent, chat: Chat, line: AgentLine, request_key: str | None = None) -> int:
        engine = self.engine
        text = sanitize(line.text) if line.text_type == "html" and line.text is not None else line.text
        async with engine.lock(chat.id):
            rules.require_open(chat, "add a line")
            self._still_owned(agent, chat)
            draft = rules.agent_line(text, line.text_type, agent.nickname, line.sub_type, line.content)
            changes = {} if line.sub_type == ONLY_TO_REP else {"agent_typing": Typing()}
            events = await engine.append(chat, [draft], request_key, **changes)
            tally(engine).agent_lines += 1
            engine.queue.idle_since[agent.id] = engine.clock()
            return events[-1].id

    async def end_chat(self, agent: Agent, chat: Chat, request_key: str | None = None) -> int:
        engine = self.engine
        async with engine.lock(chat.id):
            if chat.active:
                self._still_owned(agent, chat)
                await engine.end(chat, messages.AGENT_ENDED, request_key)
            return next(e.id for e in reversed(chat.events) if e.type == "state")

    def transfer_skills(self, agent: Agent) -> list[tuple[Skill, int]]:
        """Skills with at least one Online agent other than this one, and how many (A21)."""
        engine = self.engine
        out = []
        for skill in engine.directory.skills(agent.account_id):
            online = sum(
                1
                for other in engine.directory.agents(agent.account_id)
                if other.id != agent.id
                and skill.id in other.skill_ids
                and other.enabled
                and engine.presence.availability_of(other.id) == ONLINE
            )
            if online:
                out.append((skill, online))
        return out

    def roster(
        self, account_id: str, skill: str | None = None, chat_state: str | None = None
    ) -> list[tuple[Agent, str, int]]:
        """Every enabled agent of the account, online or not (A6), as (agent, availability, open
        chats), narrowed to a skill name and an availability (any letter case) when given."""
        engine = self.engine
        wanted_skill = engine.directory.skill_named(account_id, skill) if skill else None
        roster = []
        for agent in engine.directory.agents(account_id):
            availability = engine.presence.availability_of(agent.id)
            if not agent.enabled or (skill and (wanted_skill is None or wanted_skill.id not in agent.skill_ids)):
                continue
            if chat_state and chat_state.lower() != availability.lower():
                continue
            roster.append((agent, availability, engine.queue.open_chats(agent.id)))
        return roster

    async def transfer(
        self,
        agent: Agent,
        chat: Chat,
        *,
        skill_id: int | None = None,
        target_id: int | None = None,
        note: str | None = None,
        request_key: str | None = None,
    ) -> None:
        """Back to waiting for another skill or agent (A22): the whole history goes along, the
        sender loses access, the target is rung (an agent) or the chat heads its skill's queue."""
        engine = self.engine
        async with engine.lock(chat.id):
            rules.require_open(chat, "transfer the chat")
            self._still_owned(agent, chat)
            if target_id is not None:
                target = engine.directory.agent(target_id)
                if target is None or target.account_id != agent.account_id or target.id == agent.id:
                    raise Invalid("No such agent to transfer to")
                if engine.presence.availability_of(target.id) not in (ONLINE, OCCUPIED):
                    raise Invalid("The target agent is not Online or Occupied")
                routing = chat.routing.transferred_to(target.id)
                line, new_skill = messages.TRANSFERRED_TO_AGENT, chat.skill_id
            else:
                skill = engine.directory.skill(skill_id)
                if skill is None or skill.account_id != agent.account_id:
                    raise Invalid("No such skill to transfer to")
                if not any(s.id == skill.id for s, _ in self.transfer_skills(agent)):
                    raise Invalid("No agent of that skill is available")
                routing = chat.routing.transferred_to(None)
                line, new_skill = messages.TRANSFERRED_TO_SKILL, skill.id
            drafts = [rules.agent_line(note, "plain", agent.nickname, ONLY_TO_REP, None)] if note else []
            drafts += [rules.system_line(line), rules.state_event(WAITING)]
            await engine.append(
                chat,
                drafts,
                request_key,
                state=WAITING,
                agent_id=None,
                skill_id=new_skill,
                routing=routing,
                agent_typing=Typing(),
                agent_key=new_agent_key(),
            )

    async def transfer_account(self, agent: Agent, chat: Chat, base_url: str, account: str, skill: str) -> None:
        """The visitor is told where to ask again (an ``a2a-transfer`` event), then the chat ends."""
        engine = self.engine
        async with engine.lock(chat.id):
            rules.require_open(chat, "transfer the chat")
            self._still_owned(agent, chat)
            parameters = {
                "a2aEventId": chat.next_event_id,
                "a2aSourceSessionId": chat.rt_session_id,
                "a2aSourceSiteId": chat.account_id,
                "skill": skill,
            }
            fields = {
                "domain": base_url.split("://", 1)[-1],
                # A number when it is one a double can hold exactly (compatibility rule 13).
                "remoteSiteId": parse_integer(account) if is_integer(account) else account,
                "skill": skill,
                "chatRequestParameters": parameters,
                "a2aEventId": str(parameters["a2aEventId"]),
                "a2aSourceSessionId": str(chat.rt_session_id),
                "a2aSourceSiteId": chat.account_id,
                "link": {"@href": f"{base_url}/api/account/{account}/chat/request", "@rel": "a2a-transfer"},
            }
            await engine.append(chat, [rules.Draft("a2a-transfer", fields)] + rules.ending(chat, None), state=ENDED)

    async def set_typing(self, agent: Agent, chat: Chat, value: str) -> None:
        """Committed with the chat row (never an event), so the visitor reads it from any node."""
        async with self.engine.lock(chat.id):
            rules.require_open(chat, "change the typing status")
            if value != NOT_TYPING or chat.agent_typing.value != value:
                await self.engine.append(chat, [], agent_typing=Typing(value, self.engine.clock()))

    @staticmethod
    def _still_owned(agent: Agent, chat: Chat) -> None:
        if chat.agent_id != agent.id or chat.state != CHATTING:
            raise NotFound()
