-- Facts about this install that are not settings and must outlive a config reload or a
-- restart, such as the name of the queue Herald generated for a connection that names none:
-- a fresh name at every load made each reload reconnect and drop the old queue's messages.
CREATE TABLE state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
