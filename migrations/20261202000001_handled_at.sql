-- When the handler finished with an update (or event): a row that has it is never handed to the
-- handler again, whichever lane or replay brings it back after the Redis dedup window.
-- NULL for rows written before this migration: a replay of one of those runs the handler again
-- (at least once, as before); no backfill, so adding the column does not rewrite the table.

ALTER TABLE updates ADD COLUMN handled_at TIMESTAMPTZ NULL;
ALTER TABLE events ADD COLUMN handled_at TIMESTAMPTZ NULL;
