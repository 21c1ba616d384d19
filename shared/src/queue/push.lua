-- Queues a batch of jobs of one lane, each at most once per (bot or source, id) across all lanes,
-- written the way apalis-redis 1.0's lua/batch_push.lua writes them so its workers fetch them:
-- the job bytes in the data hash, a meta hash per job, the id in the scheduled set (apalis-redis
-- pushes every task there, due at once or later; fetching promotes the due ones).
--
-- KEYS[1] data hash, KEYS[2] meta hash prefix, KEYS[3] scheduled set (this lane's)
-- ARGV[1] key lifetime (s)
-- ARGV[2] the lane-independent namespace (<prefix>:idempotency)
-- ARGV[3] this lane's apalis idempotency set, written too while SLUICE_DEDUP_LANE_KEYS is on
--         so api replicas of the previous release see the claim; "" when off
-- ARGV[4] "1": a duplicate rewrites its key's expiry unchanged, a write that moves this
--         connection's replication offset past the original claim, so a WAIT that follows
--         covers the job it duplicates (SLUICE_ENQUEUE_MIN_REPLICAS); "0": read only
-- ARGV[5] the ordering namespace (<prefix>:order, see shared/src/queue/order.rs)
-- ARGV[6] L, then ARGV[7 .. 6+L]: apalis idempotency sets of every lane, read as claims of
--         the previous release (L = 0 when SLUICE_DEDUP_LANE_KEYS is off)
-- then six per job: job id, job bytes, run at (unix s), dedup key ("" for a job that claims
--         nothing and is never a duplicate: a retry, a replayed dead letter), order key (""
--         unordered), order sequence ("0": the key's next one; else kept, as for a retry)
-- Returns one integer per job: 1 queued, 0 duplicate.

local ttl = ARGV[1]
local namespace = ARGV[2]
local own_lane_set = ARGV[3]
local touch = ARGV[4] == "1"
local order_ns = ARGV[5]
local legacy = tonumber(ARGV[6])
local first_job = 7 + legacy

-- The key that already claims `key`, or nil.
local function claimed(key)
    local name = namespace .. ":" .. key
    if redis.call("exists", name) == 1 then
        return name
    end
    for l = 7, first_job - 1 do
        name = ARGV[l] .. ":" .. key
        if redis.call("exists", name) == 1 then
            return name
        end
    end
    return nil
end

local out = {}
for i = first_job, #ARGV, 6 do
    local id, bytes, run_at, key = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    local order_key, seq = ARGV[i + 4], ARGV[i + 5]
    local owner = nil
    if #key > 0 then
        owner = claimed(key)
    end
    if owner then
        if touch then
            local left = redis.call("pttl", owner)
            if left > 0 then
                redis.call("pexpire", owner, left)
            end
        end
        out[#out + 1] = 0
    else
        if #key > 0 then
            redis.call("set", namespace .. ":" .. key, id, "EX", ttl)
            if #own_lane_set > 0 then
                redis.call("set", own_lane_set .. ":" .. key, id, "EX", ttl)
            end
        end
        redis.call("hset", KEYS[1], id, bytes)
        -- apalis's fetch requires attempts, max_attempts (its default, 25) and status.
        redis.call("hset", KEYS[2] .. ":" .. id, "attempts", 0, "max_attempts", 25,
            "status", "Pending", "idempotency_key", key)
        if #order_key > 0 then
            -- Given out only to a job that is queued: a duplicate takes no place in the order.
            local state = order_ns .. ":k:" .. order_key
            if seq == "0" then
                seq = redis.call("hincrby", state, "next", 1)
            end
            redis.call("expire", state, ttl)
            redis.call("hset", KEYS[2] .. ":" .. id, "order_key", order_key, "order_seq", seq)
        end
        redis.call("zadd", KEYS[3], run_at, id)
        out[#out + 1] = 1
    end
end
return out
