-- Messages stored but not yet folded into the package model. The writer only appends here
-- (one small integer key per message that concerns packages), and the model is folded from
-- these rows after the batch commits, so keeping the model costs the ingest path next to
-- nothing. Row ids follow send time, so back-filled messages land behind a plain "folded up
-- to" position; a queue catches them too. No foreign key: a row pruned before it was folded
-- is simply skipped.
CREATE TABLE package_pending (
    message INTEGER PRIMARY KEY
);
