-- Per-bot forwarding (issue 16): a bot may have its own forward target (the worker's
-- SLUICE_FORWARD_URL stays the default), and its Telegram webhook secret token may be sent on
-- to it as X-Telegram-Bot-Api-Secret-Token, so an unmodified framework's secret check accepts
-- sluice's deliveries.
--
-- The secret is then needed back, so besides its SHA-256 (what ingress compares) it is stored
-- sealed under SLUICE_SECRETS_KEY (format in shared/src/sealed.rs, place "bots/secret/<id>").
-- Bots registered before this, or without a key, keep the hash only: nothing is sent on.
--
-- forward_secret: NULL sends the header whenever the sealed secret exists; false never sends
-- it; true requires the sealed secret (the constraint), so "on" cannot silently mean "off".

ALTER TABLE bots
    ADD COLUMN forward_url    TEXT    NULL CHECK (length(forward_url) <= 2048),
    ADD COLUMN secret_sealed  BYTEA   NULL,
    ADD COLUMN forward_secret BOOLEAN NULL,
    ADD CONSTRAINT bots_forward_secret_stored
        CHECK (forward_secret IS NOT TRUE OR secret_sealed IS NOT NULL);
