-- FTS5 flushes its pending terms at every statement savepoint, and a trigger body runs in one
-- per row: indexing through the insert trigger wrote a segment per message and cost three
-- times a direct insert. The writer now inserts the index rows itself, in the same
-- transaction and with one statement per chunk. Deletes and updates (retention, re-rendering)
-- keep their triggers.
DROP TRIGGER messages_ai;
