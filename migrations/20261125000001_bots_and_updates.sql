-- The bot registry and the table every acknowledged update ends up in.

CREATE TABLE bots (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_-]{1,64}$'),
    -- SHA-256 of the webhook secret token; the token itself is never stored.
    secret_sha256 BYTEA NOT NULL CHECK (length(secret_sha256) = 32),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE updates (
    id           BIGSERIAL PRIMARY KEY,
    bot          TEXT NOT NULL,
    update_id    BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    chat_id      BIGINT NULL,
    user_id      BIGINT NULL,
    lane         TEXT NOT NULL,
    payload      JSONB NOT NULL,
    job_id       TEXT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Telegram delivers at least once: the second delivery of (bot, update_id) must not make a row.
    CONSTRAINT updates_bot_update_id_key UNIQUE (bot, update_id)
);

CREATE INDEX updates_chat_idx ON updates (bot, chat_id) WHERE chat_id IS NOT NULL;
CREATE INDEX updates_received_at_idx ON updates (received_at);
