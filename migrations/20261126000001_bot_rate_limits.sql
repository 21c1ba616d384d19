-- A bot's own rate limit. NULL takes the api's SLUICE_RATE_BOT_PER_SEC / SLUICE_RATE_BOT_BURST,
-- so changing the defaults reaches every bot that was never given its own.

ALTER TABLE bots
    ADD COLUMN rate_per_sec DOUBLE PRECISION NULL CHECK (rate_per_sec > 0),
    ADD COLUMN burst        INTEGER          NULL CHECK (burst >= 1);
