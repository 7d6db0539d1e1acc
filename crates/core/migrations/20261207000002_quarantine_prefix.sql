-- Quarantine keeps a bounded prefix of a body it cannot use, plus the full length and the
-- SHA-256 of the whole: a broker accepts bodies of 16-128 MiB, and keeping each whole let
-- anyone who can publish fill the disk. NULL length: the row holds the whole body (rows
-- written before this upgrade, and bodies within the bound).
ALTER TABLE quarantine ADD COLUMN body_length INTEGER;
ALTER TABLE quarantine ADD COLUMN body_sha256 TEXT;
