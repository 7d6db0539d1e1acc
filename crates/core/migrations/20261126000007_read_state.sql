-- Which messages the person has not looked at yet in the history window: one row per unread
-- message. Read state lives beside the messages, not in a column of theirs: flipping a flag
-- in `messages` rewrites the page of each row, so marking a 200,000-message backlog read
-- wrote 830 MB of WAL and took 5 s, where deleting the same rows here takes milliseconds.
-- Messages stored before read state existed count as read (no rows here), which also spares
-- the upgrade a rewrite of the whole history.
CREATE TABLE unread (
    message INTEGER PRIMARY KEY REFERENCES messages (rowid) ON DELETE CASCADE
);

-- Reindex a message only when an indexed column changes: the trigger fired on every UPDATE,
-- so recording a notification's fate rewrote the message's full-text entry for nothing.
DROP TRIGGER messages_au;
CREATE TRIGGER messages_au AFTER UPDATE OF topic, summary, users, packages, body_text
ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, topic, summary, users, packages, body_text)
    VALUES ('delete', old.rowid, old.topic, old.summary, old.users, old.packages, old.body_text);
    INSERT INTO messages_fts (rowid, topic, summary, users, packages, body_text)
    VALUES (new.rowid, new.topic, new.summary, new.users, new.packages, new.body_text);
END;
