-- Secrets at rest (issue 16): bot tokens and source signing secrets are stored sealed
-- (XChaCha20-Poly1305 under SLUICE_SECRETS_KEY; format in shared/src/sealed.rs), bound to their
-- table, column and row id. A bot's webhook secret stays a SHA-256 only: it is never needed back.
--
-- Source secrets written before a key was set stay in the clear-text columns until the api
-- starts with a key, or `sluice-api secrets rotate` runs; either seals them and empties the clear
-- column, in the same row. Exactly one of the two columns holds each secret.

ALTER TABLE bots ADD COLUMN token_sealed BYTEA NULL;

ALTER TABLE sources
    ALTER COLUMN secret DROP NOT NULL,
    ADD COLUMN secret_sealed      BYTEA NULL,
    ADD COLUMN next_secret_sealed BYTEA NULL,
    ADD CONSTRAINT sources_secret_once CHECK ((secret IS NULL) <> (secret_sealed IS NULL)),
    ADD CONSTRAINT sources_next_secret_once
        CHECK (next_secret IS NULL OR next_secret_sealed IS NULL);
