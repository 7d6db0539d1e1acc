-- What became of each chain notification (the notification fates of messages: shown,
-- coalesced, rate_limited, quiet, paused, disabled, failed, overflow); NULL until the
-- notification stage has decided.
ALTER TABLE package_notices ADD COLUMN fate TEXT;
