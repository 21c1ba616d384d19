-- Signed-webhook sources (any provider) and the table their verified events end up in.

CREATE TABLE sources (
    id                  BIGSERIAL PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_-]{1,64}$'),
    scheme              TEXT NOT NULL CHECK (scheme IN ('github', 'stripe', 'plain')),
    -- The HMAC secrets themselves, not hashes: verifying a MAC needs the key. Whoever can read
    -- this table can sign deliveries as any source.
    secret              TEXT NOT NULL CHECK (length(secret) BETWEEN 1 AND 1024),
    -- A second accepted secret while rotating.
    next_secret         TEXT NULL CHECK (length(next_secret) BETWEEN 1 AND 1024),
    idempotency_header  TEXT NULL,
    idempotency_pointer TEXT NULL,
    rate_key_pointer    TEXT NULL,
    kind_header         TEXT NULL,
    kind_pointer        TEXT NULL,
    lane                TEXT NOT NULL DEFAULT 'normal' CHECK (lane IN ('high', 'normal', 'low')),
    tolerance_s         INTEGER NOT NULL DEFAULT 300 CHECK (tolerance_s BETWEEN 1 AND 86400),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT sources_one_idempotency_locator
        CHECK (idempotency_header IS NULL OR idempotency_pointer IS NULL),
    CONSTRAINT sources_one_kind_locator CHECK (kind_header IS NULL OR kind_pointer IS NULL)
);

CREATE TABLE events (
    id              BIGSERIAL PRIMARY KEY,
    source          TEXT NOT NULL,
    -- The provider's event id (header or JSON pointer), or 'sha256:<hex>' of the body.
    idempotency_key TEXT NOT NULL,
    kind            TEXT NOT NULL,
    rate_key        TEXT NULL,
    lane            TEXT NOT NULL,
    payload         JSONB NOT NULL,
    job_id          TEXT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    processed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Providers deliver at least once (Stripe retries for days): one row per event and source.
    CONSTRAINT events_source_idempotency_key_key UNIQUE (source, idempotency_key)
);

CREATE INDEX events_source_kind_idx ON events (source, kind);
CREATE INDEX events_received_at_idx ON events (received_at);
