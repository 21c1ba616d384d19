-- May this job of an ordered key start now? (sluice_worker::order; key layout in
-- shared/src/queue/order.rs)
--
-- KEYS[1] the key's state hash, KEYS[2] the held-keys set, KEYS[3] the parked counter,
-- KEYS[4] the job's lane data hash (its bytes, copied when it is parked)
-- ARGV[1] its sequence, ARGV[2] now (ms), ARGV[3] state lifetime (s), ARGV[4] its task id,
-- ARGV[5] its lane, ARGV[6] the order key, ARGV[7] "1" when its row is already written (and was
-- not handled): kept beside its parked bytes (`w:<seq>`) so that whoever runs it skips the write
-- Returns {what, hold start ms, sequence, parked job ("<lane>\n<bytes>")}:
-- {"go", since} when it is the key's turn (n-1 finished): the key is held from its first attempt
-- until it finishes; {"parked"} when earlier work of its key has not finished: its bytes wait in
-- the state hash until that work finishes and hands it on; {"stale"} when it finished before (a
-- copy re-run after a lost acknowledgement); {"free"} when its key's state is gone (expired): it
-- runs unordered; {"resume", since, seq, job} when this task was carrying a chain of its key
-- (finish.lua) and its worker died: the chained job `seq` that holds the key runs again here.

local state = KEYS[1]
local s = redis.call("hmget", state, "next", "done", "held", "since", "c")
if not s[1] then
    return {"free", 0, 0, ""}
end
local seq = tonumber(ARGV[1])
local done = tonumber(s[2] or "0")
if seq <= done then
    if s[5] == ARGV[4] and s[3] and s[4] then
        -- Re-delivered after its worker's lease ran out mid-chain: the job it carried still
        -- holds the key (nothing later started) and its bytes are still parked.
        local job = redis.call("hget", state, "p:" .. s[3])
        if job then
            redis.call("expire", state, ARGV[3])
            return {"resume", tonumber(s[4]), tonumber(s[3]), job}
        end
    end
    return {"stale", 0, 0, ""}
end
if seq == done + 1 then
    local since = s[4]
    if s[3] ~= ARGV[1] or not since then
        -- Its first attempt: a retry or a re-run after a crash keeps the first start, so the
        -- time it holds its key is counted from there (SLUICE_ORDER_MAX_HOLD).
        since = ARGV[2]
        redis.call("hset", state, "held", ARGV[1], "since", since)
        redis.call("zadd", KEYS[2], since, ARGV[6])
    end
    redis.call("expire", state, ARGV[3])
    return {"go", tonumber(since), seq, ""}
end
local field = "p:" .. ARGV[1]
if redis.call("hexists", state, field) == 0 then
    local bytes = redis.call("hget", KEYS[4], ARGV[4])
    if not bytes then
        -- Its bytes are gone (vacuumed): nothing to park; run it rather than lose it.
        return {"free", 0, 0, ""}
    end
    redis.call("hset", state, field, ARGV[5] .. "\n" .. bytes)
    if ARGV[7] == "1" then
        redis.call("hset", state, "w:" .. ARGV[1], 1)
    end
    redis.call("incr", KEYS[3])
end
redis.call("expire", state, ARGV[3])
return {"parked", 0, 0, ""}
