-- May these jobs of ordered keys start now? (sluice_worker::order; key layout in
-- shared/src/queue/order.rs) One call answers a batch of jobs, each as if asked alone, in the
-- batch's order.
--
-- KEYS[1] the held-keys set, KEYS[2] the parked counter, then one per job: its key's state hash
-- ARGV[1] n jobs, ARGV[2] now (ms), ARGV[3] state lifetime (s), ARGV[4] L lanes, ARGV[5 .. 4+4L]
-- four per lane, as finish.lua takes them: its name, data hash (a job's bytes, copied when it is
-- parked), meta hash prefix and active list; then five per job: its sequence, its task id, its
-- lane's number (1 .. L, in that order), the order key, "1" when its row is already written (and
-- was not handled): kept beside its parked bytes (`w:<seq>`) so that whoever runs it skips the
-- write
-- Returns per job {what, hold start ms, sequence, parked job ("<lane>\n<bytes>")}:
-- {"go", since} when it is the key's turn (n-1 finished): the key is held from its first attempt
-- until it finishes; {"parked"} when earlier work of its key has not finished: its bytes wait in
-- the state hash until that work finishes and hands it on; {"stale"} when it finished before (a
-- copy re-run after a lost acknowledgement); {"free"} when its key's state is gone (expired): it
-- runs unordered; {"resume", since, seq, job} when this task was carrying a chain of its key
-- (finish.lua) and its worker died: the chained job `seq` that holds the key runs again here.
--
-- Named parameters, not a KEYS/ARGV table per job: Redis's Lua spends about as much on building
-- small tables and strings as on the commands themselves (docs/performance.md).

local holds, parked_count = KEYS[1], KEYS[2]
local n, now, ttl = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local lanes = tonumber(ARGV[4])

local function start(state, seq_arg, task, lane, order_key, written)
    local s = redis.call("hmget", state, "next", "done", "held", "since", "c")
    if not s[1] then
        return {"free", 0, 0, ""}
    end
    local seq = tonumber(seq_arg)
    local done = tonumber(s[2] or "0")
    if seq <= done then
        if s[5] == task and s[3] and s[4] then
            -- Re-delivered after its worker's lease ran out mid-chain: the job it carried still
            -- holds the key (nothing later started) and its bytes are still parked.
            local job = redis.call("hget", state, "p:" .. s[3])
            if job then
                redis.call("expire", state, ttl)
                return {"resume", tonumber(s[4]), tonumber(s[3]), job}
            end
        end
        return {"stale", 0, 0, ""}
    end
    if seq == done + 1 then
        local since = s[4]
        if s[3] ~= seq_arg or not since then
            -- Its first attempt: a retry or a re-run after a crash keeps the first start, so the
            -- time it holds its key is counted from there (SLUICE_ORDER_MAX_HOLD).
            since = now
            redis.call("hset", state, "held", seq_arg, "since", since)
            redis.call("zadd", holds, since, order_key)
        end
        redis.call("expire", state, ttl)
        return {"go", tonumber(since), seq, ""}
    end
    local field = "p:" .. seq_arg
    if redis.call("hexists", state, field) == 0 then
        local at = 4 * lane + 1
        local bytes = redis.call("hget", ARGV[at + 1], task)
        if not bytes then
            -- Its bytes are gone (vacuumed): nothing to park; run it rather than lose it.
            return {"free", 0, 0, ""}
        end
        redis.call("hset", state, field, ARGV[at] .. "\n" .. bytes)
        if written == "1" then
            redis.call("hset", state, "w:" .. seq_arg, 1)
        end
        redis.call("incr", parked_count)
    end
    redis.call("expire", state, ttl)
    return {"parked", 0, 0, ""}
end

local out = {}
local a = 4 + 4 * lanes
for i = 1, n do
    out[i] = start(KEYS[2 + i], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]),
        ARGV[a + 4], ARGV[a + 5])
    a = a + 5
end
return out
