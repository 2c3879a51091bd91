"""Versioned schema migrations. Append new steps; never edit a step that has shipped."""

from __future__ import annotations

STEPS: list[str] = [
    # 1: accounts, keys, skills, agents, visitors, chats and their event log, sessions.
    """
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        default_skill_id INTEGER,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE app_keys (
        key_digest TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE skills (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        UNIQUE (account_id, name)
    );
    CREATE TABLE agents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        login TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        nickname TEXT NOT NULL,
        display_name TEXT NOT NULL,
        email TEXT NOT NULL DEFAULT '',
        privilege_group TEXT NOT NULL DEFAULT 'agents',
        max_chats INTEGER NOT NULL DEFAULT 4,
        enabled INTEGER NOT NULL DEFAULT 1,
        availability TEXT NOT NULL DEFAULT 'Online',
        UNIQUE (account_id, login)
    );
    CREATE TABLE agent_skills (
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        skill_id INTEGER NOT NULL REFERENCES skills(id),
        PRIMARY KEY (agent_id, skill_id)
    );
    CREATE TABLE visitors (
        account_id TEXT NOT NULL REFERENCES accounts(id),
        id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (account_id, id)
    );
    CREATE TABLE chats (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        rt_session_id INTEGER NOT NULL UNIQUE,
        visitor_id INTEGER NOT NULL,
        state TEXT NOT NULL,
        skill_id INTEGER,
        agent_id INTEGER,
        start_ms INTEGER NOT NULL,
        chatting_ms INTEGER,
        ended_ms INTEGER,
        chat_timeout INTEGER NOT NULL,
        visitor_name TEXT,
        details TEXT NOT NULL,
        custom_variables TEXT NOT NULL,
        next_event_id INTEGER NOT NULL
    );
    CREATE INDEX chats_open ON chats (state, ended_ms);
    CREATE TABLE events (
        chat_id TEXT NOT NULL REFERENCES chats(id),
        id INTEGER NOT NULL,
        type TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        agents_only INTEGER NOT NULL,
        fields TEXT NOT NULL,
        PRIMARY KEY (chat_id, id)
    ) WITHOUT ROWID;
    CREATE TABLE login_sessions (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        bearer_digest TEXT NOT NULL UNIQUE,
        csrf TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    );
    CREATE TABLE agent_sessions (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        login_session_id TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        closed_ms INTEGER
    );
    """,
    # 2: where offline messages go per account; authenticated visitors (V8) and their claims.
    """
    ALTER TABLE accounts ADD COLUMN offline_email TEXT;
    CREATE TABLE participants (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        conversation_id TEXT NOT NULL,
        claims TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    """,
    # 3: surveys (definitions, submissions), the mail outbox, transcripts waiting for their chat's end.
    """
    CREATE TABLE survey_definitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        kind TEXT NOT NULL,
        skill_id INTEGER REFERENCES skills(id),
        name TEXT NOT NULL,
        survey_id INTEGER NOT NULL,
        document TEXT NOT NULL,
        imported_ms INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX survey_definitions_slot ON survey_definitions (account_id, kind, COALESCE(skill_id, -1));
    CREATE TABLE survey_submissions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        chat_id TEXT,
        survey_id INTEGER NOT NULL,
        answers TEXT NOT NULL,
        details TEXT NOT NULL,
        submitted_ms INTEGER NOT NULL
    );
    CREATE INDEX survey_submissions_chat ON survey_submissions (chat_id, kind);
    CREATE INDEX survey_submissions_account ON survey_submissions (account_id, kind, submitted_ms);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient TEXT NOT NULL,
        sender TEXT NOT NULL,
        reply_to TEXT,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        html TEXT,
        created_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        sent_ms INTEGER,
        failed_ms INTEGER,
        last_error TEXT
    );
    CREATE INDEX outbox_pending ON outbox (next_attempt_ms) WHERE sent_ms IS NULL AND failed_ms IS NULL;
    CREATE TABLE transcript_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        email TEXT NOT NULL,
        subject TEXT,
        timezone_offset_ms INTEGER,
        requested_ms INTEGER NOT NULL,
        done_ms INTEGER
    );
    CREATE INDEX transcript_requests_pending ON transcript_requests (chat_id) WHERE done_ms IS NULL;
    """,
    # 4: the Idempotency-Key (or clientMessageId) of the request that appended an event, so a
    # retry finds the original in the same transaction that wrote it.
    """
    ALTER TABLE events ADD COLUMN request_key TEXT;
    """,
    # 5: who asked for a chat with an agent bearer (only that user's bearer opens it on the visitor
    # side), and the agent side's key for the chat's current assignment. Chats stored before get a
    # key of the same shape from SQLite's randomness (seeded by the OS); new ones from ``secrets``.
    """
    ALTER TABLE chats ADD COLUMN requester_agent_id INTEGER;
    ALTER TABLE chats ADD COLUMN agent_key TEXT;
    UPDATE chats SET agent_key = 'H' || (1000000000000000000 + abs(random() % 8000000000000000000)) || '-'
        || lower(hex(randomblob(16))) || 'K' || (1000000 + abs(random() % 9000000));
    CREATE UNIQUE INDEX chats_agent_key ON chats (agent_key);
    """,
    # 6: a start loads only open chats and those ended within retention; without an index on
    # ended_ms it read every chat and every event ever stored (start time grew with history).
    """
    CREATE INDEX chats_ended ON chats (ended_ms);
    """,
    # 7: canned responses an account's agents keep and manage in the console (a parley extension).
    """
    CREATE TABLE canned_responses (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX canned_responses_account ON canned_responses (account_id, id);
    """,
]
