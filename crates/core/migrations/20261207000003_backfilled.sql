-- Messages fetched from the bus archive (datagrepper) to fill a gap, rather than delivered by
-- the broker: 1 for those. An added column with a constant default rewrites no existing row,
-- and a 0 or 1 costs no bytes in the record beyond its type.
ALTER TABLE messages ADD COLUMN backfilled INTEGER NOT NULL DEFAULT 0;
