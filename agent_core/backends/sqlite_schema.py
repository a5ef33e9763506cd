"""SQLite schema and its migrations. Each entry moves the schema up one version."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the first release
    """
    CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        conversation TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        name TEXT NOT NULL,
        system_prompt TEXT NOT NULL,
        blocks TEXT NOT NULL,
        model TEXT NOT NULL,
        context_window INTEGER NOT NULL,
        embedding_model TEXT NOT NULL,
        in_context TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        last_active INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX agents_active_conversation ON agents(conversation) WHERE active = 1;

    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT,
        tool_calls TEXT,
        tool_call_id TEXT,
        name TEXT,
        search_text TEXT,
        platform_id TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX messages_agent_time ON messages(agent_id, created_at);
    CREATE UNIQUE INDEX messages_platform_id ON messages(agent_id, platform_id)
        WHERE platform_id IS NOT NULL;

    CREATE VIRTUAL TABLE messages_fts USING fts5(
        search_text, content='messages', content_rowid='id', tokenize='porter unicode61'
    );
    CREATE TRIGGER messages_ai AFTER INSERT ON messages WHEN new.search_text IS NOT NULL BEGIN
        INSERT INTO messages_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END;
    CREATE TRIGGER messages_ad AFTER DELETE ON messages WHEN old.search_text IS NOT NULL BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
    END;

    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        name TEXT NOT NULL,
        embedding_model TEXT NOT NULL,
        files INTEGER NOT NULL DEFAULT 0,
        passages INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        UNIQUE (workspace, name)
    );
    CREATE TABLE source_files (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        pages INTEGER NOT NULL DEFAULT 0,
        passages INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (source_id, sha256)
    );
    CREATE TABLE attachments (
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (agent_id, source_id)
    );
    CREATE TABLE events (
        namespace TEXT NOT NULL,
        event_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, event_id)
    );
    CREATE INDEX events_time ON events(created_at);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
