-- Jobs of ordered keys finished (done, or dead-lettered): each key moves on, and its next job, if
-- it was parked, is handed to the finishing task's slot (a chain) or, when the chain may not go
-- on, goes to the front of its lane under a new task id. One call finishes a batch of jobs, each
-- as if alone, in the batch's order.
--
-- KEYS[1] the held-keys set, KEYS[2] the parked counter, then one per job: its key's state hash
-- ARGV[1] n jobs, ARGV[2] now (ms), ARGV[3] state lifetime while work is queued (s), ARGV[4]
-- lifetime once idle (s), ARGV[5] L lanes, ARGV[6 .. 5+4L] four per lane: its name, data hash,
-- meta hash prefix and active list (where a woken job goes), then six per job: its sequence, the
-- order key, the task id for a woken job, the task carrying a chain ("": the next job may not be
-- chained), "1" when the next job waits in the finishing worker (order::local): it holds the key
-- from now, and the first sequence of the run that finishes (the job that held the key; a run of
-- a handler that only stores finishes first .. sequence at once)
-- Returns per job {held ms (-1: it was not holding the key), how the next job goes ("chained",
-- "handed", "requeued" or ""), its lane, its bytes (chained only), "1" when its row is written
-- (chained only; start.lua's `w:<seq>`)}.
--
-- Named parameters, not a KEYS/ARGV table per job, and the parked fields (`p:`, `w:`) looked for
-- only when the state holds any: Redis's Lua spends about as much on building small tables and
-- strings as on the commands themselves (docs/performance.md).

local holds, parked_count = KEYS[1], KEYS[2]
local n, now, busy_ttl, idle_ttl = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local lanes = tonumber(ARGV[5])

local function finish(state, seq_arg, order_key, new_id, carrier, hand, first_arg)
    local s = redis.call("hmget", state, "next", "done", "held", "since", "c")
    if not s[1] then
        return {-1, "", "", "", ""}
    end
    local seq = tonumber(seq_arg)
    local first = tonumber(first_arg)
    if first <= tonumber(s[2] or "0") then
        return {-1, "", "", "", ""}
    end
    local held = -1
    if s[4] and s[3] == first_arg then
        held = tonumber(now) - tonumber(s[4])
    end
    -- Parked fields (`p:`, `w:`) exist only when the hash holds more fields than these five: a
    -- key that only ran in one worker has none, and costs no look for them.
    local fixed = 0
    for i = 1, 5 do
        if s[i] then
            fixed = fixed + 1
        end
    end
    local extra = redis.call("hlen", state) > fixed
    if extra then
        -- Its own parked copy, if it was chained, goes with its hold (and a run's, if a copy
        -- of one was parked too).
        redis.call("hdel", state, "held", "since", "c", "p:" .. first, "w:" .. first)
    elseif s[3] or s[4] or s[5] then
        redis.call("hdel", state, "held", "since", "c")
    end
    if extra and seq > first then
        -- One command for the run's flags and one for its parked copies (duplicates, rare),
        -- not two a job.
        local flags, copies = {}, {}
        for i = first + 1, seq do
            flags[#flags + 1] = "w:" .. i
            copies[#copies + 1] = "p:" .. i
        end
        redis.call("hdel", state, unpack(flags))
        local dropped = redis.call("hdel", state, unpack(copies))
        if dropped > 0 then
            redis.call("decrby", parked_count, dropped)
        end
    end

    if hand == "1" then
        -- A parked copy of the next job (a duplicate delivery) is dropped: the waiter runs it.
        if extra and redis.call("hdel", state, "p:" .. (seq + 1)) == 1 then
            redis.call("decr", parked_count)
        end
        redis.call("hset", state, "done", seq, "held", seq + 1, "since", now)
        redis.call("zadd", holds, now, order_key)
        redis.call("expire", state, busy_ttl)
        return {held, "handed", "", "", ""}
    end

    local how, lane, bytes = "", "", ""
    local field = "p:" .. (seq + 1)
    local parked = extra and redis.call("hget", state, field)
    if parked then
        redis.call("decr", parked_count)
        local nl = string.find(parked, "\n", 1, true)
        lane, bytes = string.sub(parked, 1, nl - 1), string.sub(parked, nl + 1)
        if carrier ~= "" then
            -- Handed to the finishing slot: it holds the key from now; its bytes stay parked
            -- and `c` names the carrying task, so that if the carrier's worker dies, the
            -- carrier's re-delivery (apalis's orphan recovery) resumes it (start.lua) and
            -- nothing else runs.
            redis.call("hset", state, "done", seq, "held", seq + 1, "since", now, "c", carrier)
            redis.call("zadd", holds, now, order_key)
            redis.call("expire", state, busy_ttl)
            local written = redis.call("hget", state, "w:" .. (seq + 1)) or ""
            return {held, "chained", lane, bytes, written}
        end
        redis.call("hdel", state, field, "w:" .. (seq + 1))
        for l = 6, 5 + 4 * lanes, 4 do
            if ARGV[l] == lane then
                redis.call("hset", ARGV[l + 1], new_id, bytes)
                redis.call("hset", ARGV[l + 2] .. ":" .. new_id, "attempts", 0, "max_attempts", 25,
                    "status", "Pending", "idempotency_key", "", "order_key", order_key,
                    "order_seq", seq + 1)
                -- The front: it was next in its key long ago, and its lane's order across keys
                -- is by when a job can run.
                redis.call("lpush", ARGV[l + 3], new_id)
                how = "requeued"
            end
        end
    end
    redis.call("hset", state, "done", seq)
    redis.call("zrem", holds, order_key)
    if tonumber(s[1]) <= seq then
        redis.call("expire", state, idle_ttl)
    else
        redis.call("expire", state, busy_ttl)
    end
    return {held, how, lane, "", ""}
end

local out = {}
local a = 5 + 4 * lanes
for i = 1, n do
    out[i] = finish(KEYS[2 + i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5],
        ARGV[a + 6])
    a = a + 6
end
return out
