-- Merge full-text segments less eagerly: ingest spends most of its index time merging, and
-- searches stay fast with a few more segments (see `herald bench search`).
INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', 16);
