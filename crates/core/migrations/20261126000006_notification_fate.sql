-- What became of each message a rule marked notify: shown, coalesced, rate_limited, quiet,
-- paused, disabled or failed (NULL for messages kept silently).
ALTER TABLE messages ADD COLUMN notification TEXT;
