-- The message history. rowid is chosen by the writer as (sent_at seconds << 20) + n, so
-- "newest first" is rowid order: FTS5, the tag index and time ranges all walk it natively.
CREATE TABLE messages (
    rowid            INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    exchange         TEXT    NOT NULL,
    topic            TEXT    NOT NULL,
    sent_at          INTEGER NOT NULL,  -- unix milliseconds
    received_at      INTEGER NOT NULL,  -- unix milliseconds
    severity         INTEGER NOT NULL,
    source           TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    summary          TEXT    NOT NULL,
    details          TEXT    NOT NULL,
    url              TEXT,
    agent            TEXT,
    icon             TEXT    NOT NULL,
    users            TEXT    NOT NULL,  -- JSON array
    packages         TEXT    NOT NULL,  -- JSON array
    body_text        TEXT    NOT NULL,  -- bounded text of the body, for full-text search only
    properties       TEXT    NOT NULL,  -- JSON object of the AMQP basic properties
    headers          BLOB    NOT NULL,  -- the header table in AMQP wire encoding, exactly
    has_headers      INTEGER NOT NULL,
    body             BLOB    NOT NULL,  -- the body bytes, exactly
    problems         TEXT,              -- JSON array of what was wrong but tolerated
    renderer_version INTEGER NOT NULL
);

CREATE INDEX messages_topic ON messages (topic);
CREATE INDEX messages_source ON messages (source, rowid);
CREATE INDEX messages_severity ON messages (severity, rowid);
CREATE INDEX messages_received ON messages (received_at);
CREATE INDEX messages_renderer ON messages (renderer_version);

-- Who and what each message names (users, groups, packages, containers, modules, flatpaks),
-- one row each, so "--user x" is an index walk in newest-first order.
CREATE TABLE message_tags (
    message INTEGER NOT NULL REFERENCES messages (rowid) ON DELETE CASCADE,
    kind    TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    PRIMARY KEY (kind, name, message)
) WITHOUT ROWID;
CREATE INDEX message_tags_message ON message_tags (message);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    topic, summary, users, packages, body_text,
    content = 'messages', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, topic, summary, users, packages, body_text)
    VALUES (new.rowid, new.topic, new.summary, new.users, new.packages, new.body_text);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, topic, summary, users, packages, body_text)
    VALUES ('delete', old.rowid, old.topic, old.summary, old.users, old.packages, old.body_text);
END;
CREATE TRIGGER messages_au AFTER UPDATE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, topic, summary, users, packages, body_text)
    VALUES ('delete', old.rowid, old.topic, old.summary, old.users, old.packages, old.body_text);
    INSERT INTO messages_fts (rowid, topic, summary, users, packages, body_text)
    VALUES (new.rowid, new.topic, new.summary, new.users, new.packages, new.body_text);
END;

-- Deliveries Herald could not use, kept byte for byte with the reason.
CREATE TABLE quarantine (
    id          TEXT    PRIMARY KEY,
    exchange    TEXT    NOT NULL,
    topic       TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    properties  TEXT    NOT NULL,
    headers     BLOB    NOT NULL,
    has_headers INTEGER NOT NULL,
    body        BLOB    NOT NULL
);
CREATE INDEX quarantine_received ON quarantine (received_at);
