-- History at scale (issue 17): `updates` and `events` become tables partitioned by day of
-- `received_at` (UTC), so that retention drops whole partitions instead of deleting rows.
--
-- Uniqueness: a unique index on a partitioned table must contain the partition key, so
-- (bot, update_id) can no longer be unique in `updates` itself. Each key is claimed first in a
-- small unpartitioned table (`update_keys`, `event_keys`) whose primary key is exactly the
-- dedup key and which records the `received_at` of the row that won; the row goes in only if its
-- key was new (worker/src/store.rs). Keys are deleted when their partition is dropped
-- (worker/src/partitions/). docs/history.md, "Storage", says why and what it costs.
--
-- Conversion: the old tables are renamed, the partitioned tables created with a partition for
-- every day that has rows (within the last 366 days; older rows and rows with absurd times go to
-- the DEFAULT partition) and the next 7 days, the rows copied in one INSERT … SELECT, their keys
-- claimed, and the old tables dropped. It all runs in this migration's transaction: on any error
-- nothing changes, and while it runs writers of `updates`/`events` wait (docs/history.md,
-- "Migration", has the timing per million rows).

CREATE TABLE update_keys (
    bot         TEXT NOT NULL,
    update_id   BIGINT NOT NULL,
    -- The partition key of the row that holds this update: where to find it, and when the key
    -- goes (with that row's partition).
    received_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT update_keys_pkey PRIMARY KEY (bot, update_id)
);
-- Keys arrive in about received_at order: a BRIN index finds a dropped day's keys for almost no
-- cost on the write path.
CREATE INDEX update_keys_received_at_brin ON update_keys USING brin (received_at);

CREATE TABLE event_keys (
    source          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT event_keys_pkey PRIMARY KEY (source, idempotency_key)
);
CREATE INDEX event_keys_received_at_brin ON event_keys USING brin (received_at);

-- The old tables step aside; their sequences move to the new tables so ids keep growing.
ALTER TABLE updates RENAME TO updates_unpartitioned;
ALTER TABLE updates_unpartitioned RENAME CONSTRAINT updates_pkey TO updates_unpartitioned_pkey;
ALTER TABLE updates_unpartitioned
    RENAME CONSTRAINT updates_bot_update_id_key TO updates_unpartitioned_key;
ALTER INDEX updates_chat_idx RENAME TO updates_unpartitioned_chat_idx;
ALTER INDEX updates_received_at_idx RENAME TO updates_unpartitioned_received_at_idx;
ALTER SEQUENCE updates_id_seq OWNED BY NONE;

ALTER TABLE events RENAME TO events_unpartitioned;
ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey;
ALTER TABLE events_unpartitioned
    RENAME CONSTRAINT events_source_idempotency_key_key TO events_unpartitioned_key;
ALTER INDEX events_source_kind_idx RENAME TO events_unpartitioned_source_kind_idx;
ALTER INDEX events_received_at_idx RENAME TO events_unpartitioned_received_at_idx;
ALTER SEQUENCE events_id_seq OWNED BY NONE;

CREATE TABLE updates (
    -- Still numbered, no longer a primary key (it would have to contain received_at); rows are
    -- identified by (bot, update_id), claimed in update_keys.
    id           BIGINT NOT NULL DEFAULT nextval('updates_id_seq'),
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
    handled_at   TIMESTAMPTZ NULL,
    -- The same job delivered again carries the same received_at: caught here even without the
    -- key table; also the index that finds a row from its key.
    CONSTRAINT updates_key UNIQUE (bot, update_id, received_at)
) PARTITION BY RANGE (received_at);
ALTER SEQUENCE updates_id_seq OWNED BY updates.id;
CREATE INDEX updates_chat_idx ON updates (bot, chat_id) WHERE chat_id IS NOT NULL;
CREATE INDEX updates_received_at_idx ON updates (received_at);
CREATE TABLE updates_default PARTITION OF updates DEFAULT;

CREATE TABLE events (
    id              BIGINT NOT NULL DEFAULT nextval('events_id_seq'),
    source          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    kind            TEXT NOT NULL,
    rate_key        TEXT NULL,
    lane            TEXT NOT NULL,
    payload         JSONB NOT NULL,
    job_id          TEXT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    processed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    handled_at      TIMESTAMPTZ NULL,
    CONSTRAINT events_key UNIQUE (source, idempotency_key, received_at)
) PARTITION BY RANGE (received_at);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE INDEX events_source_kind_idx ON events (source, kind);
CREATE INDEX events_received_at_idx ON events (received_at);
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- One partition per UTC day: <table>_pYYYYMMDD holds [day 00:00 UTC, next day 00:00 UTC), the
-- names and bounds worker/src/partitions/ creates from then on.
DO $$
DECLARE
    t     TEXT;
    today DATE := (now() AT TIME ZONE 'UTC')::date;
    d     DATE;
BEGIN
    FOREACH t IN ARRAY ARRAY['updates', 'events'] LOOP
        FOR d IN EXECUTE format(
            'SELECT DISTINCT (received_at AT TIME ZONE %L)::date FROM %I
              WHERE received_at >= %L AND received_at < %L
             UNION SELECT generate_series(%L::date, %L::date, %L)::date',
            'UTC', t || '_unpartitioned',
            (today - 366)::timestamp AT TIME ZONE 'UTC', (today + 8)::timestamp AT TIME ZONE 'UTC',
            today, today + 7, '1 day')
        LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           t || '_p' || to_char(d, 'YYYYMMDD'), t,
                           d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
        END LOOP;
    END LOOP;
END $$;

INSERT INTO updates (id, bot, update_id, kind, chat_id, user_id, lane, payload, job_id,
                     received_at, processed_at, handled_at)
SELECT id, bot, update_id, kind, chat_id, user_id, lane, payload, job_id,
       received_at, processed_at, handled_at
FROM updates_unpartitioned;
INSERT INTO update_keys (bot, update_id, received_at)
SELECT bot, update_id, received_at FROM updates_unpartitioned;

INSERT INTO events (id, source, idempotency_key, kind, rate_key, lane, payload, job_id,
                    received_at, processed_at, handled_at)
SELECT id, source, idempotency_key, kind, rate_key, lane, payload, job_id,
       received_at, processed_at, handled_at
FROM events_unpartitioned;
INSERT INTO event_keys (source, idempotency_key, received_at)
SELECT source, idempotency_key, received_at FROM events_unpartitioned;

DROP TABLE updates_unpartitioned;
DROP TABLE events_unpartitioned;

-- When retention last finished (one row per run, newest kept): read by every worker's sampler,
-- so each exports the same `sluice_retention_last_success_timestamp_seconds`.
CREATE TABLE retention_runs (
    finished_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    dropped     INTEGER NOT NULL,
    retention_s BIGINT NULL
);
