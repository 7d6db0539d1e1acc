-- The per-package model (see herald-core's `packages` module), kept in the same transaction
-- as the messages it comes from and rebuilt from them when its version changes.

-- One row per package: its state as JSON (upstream, branches with build, update, gating,
-- CI and stable; Koschei), and when its newest event was sent.
CREATE TABLE packages (
    name       TEXT    PRIMARY KEY,
    state      TEXT    NOT NULL,
    changed_at INTEGER NOT NULL  -- unix milliseconds
) WITHOUT ROWID;

-- Each package's timeline: one row per message and package it names. The summary and the
-- send time are the message's own.
CREATE TABLE package_events (
    package TEXT    NOT NULL,
    message INTEGER NOT NULL REFERENCES messages (rowid) ON DELETE CASCADE,
    stage   TEXT    NOT NULL,
    branch  TEXT,
    version TEXT,
    nvr     TEXT,
    state   TEXT,
    url     TEXT,
    PRIMARY KEY (package, message)
) WITHOUT ROWID;
CREATE INDEX package_events_message ON package_events (message);

-- Who built a package or submitted its updates, so "my packages" is an index walk.
CREATE TABLE package_people (
    user    TEXT NOT NULL,
    package TEXT NOT NULL,
    PRIMARY KEY (user, package)
) WITHOUT ROWID;

-- Which packages each Bodhi update carries: Greenwave and WaiverDB name only the alias.
CREATE TABLE package_updates (
    alias   TEXT NOT NULL,
    package TEXT NOT NULL,
    PRIMARY KEY (alias, package)
) WITHOUT ROWID;

-- Chain notifications already raised (gating settled, reached stable, no build after an
-- upstream release), so each is raised once.
CREATE TABLE package_notices (
    package TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (package, kind, key)
) WITHOUT ROWID;
