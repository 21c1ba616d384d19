-- `sluice-worker history erase --user U` deletes the updates a user sent (user_id) and their
-- private chat (chat_id, already indexed by updates_chat_idx). Without this index the user half
-- is a scan of every partition. On a partitioned `updates` it is created on every partition.
-- Not CONCURRENTLY: that cannot run on a partitioned parent; the build holds writes to
-- `updates` back (the worker waits, the api keeps queueing in Redis).

CREATE INDEX IF NOT EXISTS updates_user_idx ON updates (bot, user_id) WHERE user_id IS NOT NULL;
