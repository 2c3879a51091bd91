"""What the services may ask of a store: domain-level methods and records, no driver types.

Each backend (``sqlite``, ``postgres``) implements ``Store``; services and the engine
are typed against these protocols only and never import a backend. The one composition place
(``parley.store.open_store``, called by the app factory and the CLI) picks the backend from the
database URL. ``tests/unit/store/test_protocol.py`` checks that every backend implements every
method with the same signature, and that nothing outside ``store/`` imports a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from parley.domain.account import Account, Agent, Skill
from parley.domain.canned import CannedResponse
from parley.domain.chat import Chat, Event
from parley.domain.history import ChatQuery, Position
from parley.domain.mail import Message
from parley.domain.session import AgentSession, LoginSession
from parley.domain.survey import Answer, Definition


class NotLeading(Exception):
    """A write refused because another node leads the cluster now (its term fenced ours)."""


class StoreUnavailable(Exception):
    """The database cannot be reached now (down, unreachable, not answering in time, or gone).

    Every backend raises this, and only this, for "cannot reach the database", so the HTTP layer
    answers 503 with a Retry-After and the CLI one line, without knowing the driver. A request
    that got it may or may not have been written (it timed out waiting); retrying is safe for the
    APIs' idempotent forms."""


@dataclass
class Commits:
    """How the store's group commit went: transactions committed and the writes they carried
    (writes / transactions is the mean batch; /metrics exports both)."""

    transactions: int = 0
    writes: int = 0

    def count(self, writes: int) -> None:
        self.transactions += 1
        self.writes += writes


@dataclass
class Directory:
    """Everything configured by administrators, as one snapshot."""

    accounts: dict[str, Account]
    key_digests: dict[str, str]  # digest -> account id
    skills: dict[int, Skill]
    agents: dict[int, Agent]
    availability: dict[int, str]
    # Deleted skills -> the skill their open chats move to (None: their waiting chats end). The
    # leader applies it on its next read of the directory, whichever process deleted the skill.
    moved: dict[int, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    """A message of the outbox not sent yet."""

    id: int
    message: Message
    attempts: int
    created_ms: int


@dataclass(frozen=True)
class TranscriptRequest:
    id: int
    account_id: str
    chat_id: str
    email: str
    subject: str | None
    timezone_offset_ms: int | None


@dataclass(frozen=True)
class Submission:
    account_id: str
    kind: str
    chat_id: str | None
    survey_id: int
    answers: list[Answer]
    details: dict = field(default_factory=dict)
    submitted_ms: int = 0


@dataclass(frozen=True)
class AppKeyRecord:
    """An app key as stored: its digest (the key itself is never kept) and when it was made."""

    key_digest: str
    account_id: str
    created_ms: int


@dataclass(frozen=True)
class AdminToken:
    """A bearer of the admin API, as stored: its digest, never the token."""

    id: int
    name: str
    token_digest: str
    created_ms: int
    revoked_ms: int | None = None


@dataclass(frozen=True)
class AppCredentialRecord:
    """A bot's application credentials as stored: which agent, when made; the four values are
    kept only as one digest (they are shown once, when made)."""

    id: int
    agent_id: int
    created_ms: int


@dataclass
class ParticipantRecord:
    id: str
    account_id: str
    conversation_id: str
    claims: dict


@dataclass
class Removal:
    """What a retention sweep or an erasure deleted (or, counted for a dry run, would delete)."""

    chats: int = 0
    events: int = 0
    submissions: int = 0  # survey answers: pre-chat, exit, agent, and offline messages
    transcripts: int = 0  # transcript requests
    mails: int = 0  # outbox rows about those chats or submissions, sent or not
    participants: int = 0  # authenticated-visitor records (V8) the chats named
    visitors: int = 0
    webhooks: int = 0  # webhook deliveries about those chats, pending or logged
    chat_ids: list[str] = field(default_factory=list)  # the chats deleted (empty for a count)

    COUNTS = ("chats", "events", "submissions", "transcripts", "mails", "participants", "visitors", "webhooks")

    def add(self, other: Removal) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.chat_ids.extend(other.chat_ids)

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}


@dataclass(frozen=True)
class Webhook:
    """A subscription: where an account's events of these kinds are posted, and the key that signs them."""

    id: int
    account_id: str
    url: str
    kinds: tuple[str, ...]
    secret: str
    active: bool
    created_ms: int


@dataclass(frozen=True)
class Delivery:
    """One event for one subscription, as the delivery log shows it."""

    id: int
    hook_id: int
    chat_id: str | None
    kind: str
    body: bytes
    status: str  # pending, delivered, failed
    attempts: int
    created_ms: int
    next_attempt_ms: int
    last_attempt_ms: int | None = None
    done_ms: int | None = None
    response_code: int | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class DueDelivery:
    """A delivery that may be attempted (the first pending one of its chat), with where it goes."""

    delivery: Delivery
    url: str
    secret: str


class MailRecords(Protocol):
    """The durable outbox and the transcript requests waiting for their chat to end."""

    async def enqueue(self, message: Message, now_ms: int) -> int: ...
    async def due(self, now_ms: int, limit: int) -> list[Pending]: ...
    async def next_due_ms(self) -> int | None: ...
    async def mark_sent(self, message_id: int, attempts: int, now_ms: int) -> None: ...
    async def mark_retry(self, message_id: int, attempts: int, next_attempt_ms: int, error: str) -> None: ...
    async def mark_failed(self, message_id: int, attempts: int, now_ms: int, error: str) -> None: ...
    async def request_transcript(
        self,
        account_id: str,
        chat_id: str,
        email: str,
        subject: str | None,
        timezone_offset_ms: int | None,
        now_ms: int,
        max_recipients: int | None = None,
    ) -> bool: ...
    async def chats_with_pending_transcripts(self) -> set[str]: ...
    async def pending_transcripts(self, chat_id: str) -> list[TranscriptRequest]: ...
    async def complete_transcripts(
        self, composed: list[tuple[TranscriptRequest, Message | None]], now_ms: int
    ) -> None: ...
    async def stored_chat(self, chat_id: str) -> Chat | None: ...


class SurveyRecords(Protocol):
    """Survey definitions (one per account, kind and skill) and submitted answers."""

    async def save_definition(self, account_id: str, definition: Definition, now_ms: int) -> None: ...
    async def definitions(self, account_id: str, kind: str | None = None) -> list[Definition]: ...
    async def delete_definition(self, account_id: str, kind: str, survey_id: int) -> bool: ...
    async def save_submission(
        self, submission: Submission, *, replace: bool = False, mail: Message | None = None
    ) -> None: ...
    async def submissions(self, account_id: str, kind: str, chat_id: str | None = None) -> list[Submission]: ...
    async def latest_for_visitor(self, account_id: str, kind: str, visitor_id: int) -> Submission | None: ...


class ParticipantRecords(Protocol):
    """Authenticated visitors (server spec V8) and the claims their identity provider gave."""

    async def insert(self, record: ParticipantRecord) -> None: ...
    async def load(self, account_id: str, participant_id: str) -> ParticipantRecord | None: ...


class CannedRecords(Protocol):
    """Canned responses per account (a parley extension managed in the agent console)."""

    async def for_account(self, account_id: str) -> list[CannedResponse]: ...
    async def add(self, account_id: str, title: str, text: str, now_ms: int, limit: int) -> int | None: ...
    async def remove(self, account_id: str, canned_id: int) -> bool: ...


class AppCredentialRecords(Protocol):
    """Application credentials of agent users (bots' Login Service L1), as digests."""

    async def add(self, agent_id: int, credentials_digest: str, now_ms: int) -> int: ...
    async def for_agent(self, agent_id: int) -> list[AppCredentialRecord]: ...
    async def agent_of(self, credentials_digest: str) -> int | None: ...
    async def remove(self, agent_id: int, credential_id: int) -> bool: ...


@dataclass(frozen=True)
class TranscriptRecord:
    """A transcript request as history shows it: to whom, and whether it went out."""

    email: str
    subject: str | None
    requested_ms: int
    done_ms: int | None


@dataclass
class ChatSummary:
    """A chat of a history list: its row (no events), its line count, and with a text search the
    first line that matched."""

    chat: Chat
    lines: int
    match: Event | None = None


@dataclass
class ChatRecord:
    """A stored chat whole: every event, its survey submissions and transcript requests."""

    chat: Chat
    submissions: list[Submission]
    transcripts: list[TranscriptRecord]


class HistoryRecords(Protocol):
    """Stored chats of any age (the live view keeps only open and recently ended ones)."""

    async def summaries(
        self, account_id: str, query: ChatQuery, after: Position | None, limit: int
    ) -> list[ChatSummary]: ...
    async def record(self, account_id: str, chat_id: str) -> ChatRecord | None: ...
    async def export_page(
        self, account_id: str, from_ms: int | None, to_ms: int | None, after: Position | None, limit: int
    ) -> list[ChatRecord]: ...


class RetentionRecords(Protocol):
    """Deleting chats with every row about them (plain DELETEs, through the writer): the retention
    sweep, in bounded batches, and the erasure of one visitor."""

    async def sweep(self, account_id: str, ended_before_ms: int, limit: int) -> Removal: ...
    async def count_expired(self, account_id: str, ended_before_ms: int) -> Removal: ...
    async def erase_visitor(self, account_id: str, visitor_id: int) -> Removal: ...
    async def count_visitor(self, account_id: str, visitor_id: int) -> Removal: ...


class WebhookRecords(Protocol):
    """Webhook subscriptions and their durable deliveries. Deliveries are inserted by the store itself,
    in the transaction of the chat change or survey answer they report (``save_chat``, ``insert_chat``,
    ``surveys.save_submission``), for every active subscription of the account that asked for the kind."""

    async def create(self, account_id: str, url: str, kinds: tuple[str, ...], secret: str, now_ms: int) -> int: ...
    async def for_account(self, account_id: str) -> list[Webhook]: ...
    async def get(self, account_id: str, hook_id: int) -> Webhook | None: ...
    async def update(self, hook: Webhook) -> None: ...
    async def delete(self, account_id: str, hook_id: int) -> bool: ...
    async def deliveries(self, hook_id: int, before_id: int | None, limit: int) -> list[Delivery]: ...
    async def heads(self, limit: int) -> list[DueDelivery]: ...
    async def mark_delivered(self, delivery_id: int, attempts: int, now_ms: int, code: int) -> None: ...
    async def mark_retry(
        self, delivery_id: int, attempts: int, now_ms: int, next_attempt_ms: int, code: int | None, error: str
    ) -> None: ...
    async def mark_failed(self, delivery_id: int, attempts: int, now_ms: int, code: int | None, error: str) -> None: ...
    async def prune(self, done_before_ms: int) -> int: ...


class Store(Protocol):
    commits: Commits

    # The records of other concepts, in the same database (and, where it matters, transaction).
    @property
    def mail(self) -> MailRecords: ...
    @property
    def surveys(self) -> SurveyRecords: ...
    @property
    def participants(self) -> ParticipantRecords: ...
    @property
    def canned(self) -> CannedRecords: ...
    @property
    def app_credentials(self) -> AppCredentialRecords: ...
    @property
    def history(self) -> HistoryRecords: ...
    @property
    def retention(self) -> RetentionRecords: ...
    @property
    def webhooks(self) -> WebhookRecords: ...

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def schema_version(self) -> int: ...
    async def identity(self) -> str: ...
    # -- configuration
    async def create_account(self, account: Account) -> None: ...
    async def update_account(self, account: Account) -> None: ...
    async def add_app_key(self, account_id: str, key_digest: str) -> None: ...
    async def app_keys(self, account_id: str) -> list[AppKeyRecord]: ...
    async def delete_app_key(self, account_id: str, key_digest: str) -> bool: ...
    async def create_skill(self, account_id: str, name: str) -> int: ...
    async def create_agent(self, agent: Agent) -> int: ...
    async def update_agent(self, agent: Agent) -> None: ...
    async def rename_skill(self, skill_id: int, name: str) -> None: ...
    async def retire_skill(self, skill_id: int, retired_ms: int | None) -> None: ...
    async def delete_skill(self, skill_id: int, moved_to: int | None, now_ms: int) -> None: ...
    async def waiting_chats(self, skill_id: int) -> int: ...
    async def save_availability(self, agent_id: int, availability: str) -> None: ...
    async def load_directory(self) -> Directory: ...
    async def change_counter(self) -> int: ...
    # -- admin tokens (read per admin request, never cached: a revocation holds at once, on every node)
    async def create_admin_token(self, name: str, token_digest: str, created_ms: int) -> int: ...
    async def admin_tokens(self) -> list[AdminToken]: ...
    async def admin_token(self, token_digest: str) -> AdminToken | None: ...
    async def revoke_admin_token(self, token_id: int, revoked_ms: int) -> bool: ...
    # -- visitors and chats
    async def known_visitor(self, account_id: str, visitor_id: int) -> bool: ...
    async def insert_chat(self, chat: Chat, events: list[Event], new_visitor: bool) -> None: ...
    async def save_chat(self, chat: Chat, events: list[Event]) -> None: ...
    async def load_chats(self, ended_after_ms: int) -> list[Chat]: ...
    async def load_chat(self, chat_id: str, events_from: int) -> Chat | None: ...
    async def chat_versions(self, ended_after_ms: int) -> dict[str, int]: ...
    async def max_rt_session_id(self) -> int: ...
    # -- many nodes (one process on SQLite: it always leads, and nobody follows)
    async def lead(self) -> bool: ...
    async def leading(self) -> bool: ...
    async def announce(self, address: str, secret: str) -> None: ...
    async def leader(self) -> tuple[str, str] | None: ...
    # -- login and agent sessions
    async def insert_login(self, record: LoginSession) -> None: ...
    async def set_login_expiry(self, login_id: str, expires_ms: int) -> None: ...
    async def load_logins(self, now_ms: int) -> list[LoginSession]: ...
    async def insert_agent_session(self, record: AgentSession) -> None: ...
    async def close_agent_sessions(self, session_ids: list[int], closed_ms: int) -> None: ...
    async def load_agent_sessions(self) -> list[AgentSession]: ...
