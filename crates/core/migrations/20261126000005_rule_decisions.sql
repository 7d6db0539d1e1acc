-- Why each message was kept: the rule that matched (NULL when none did, or for imports) and
-- what it decided (notify or history; dropped messages are not stored).
ALTER TABLE messages ADD COLUMN rule TEXT;
ALTER TABLE messages ADD COLUMN action TEXT NOT NULL DEFAULT 'history';
