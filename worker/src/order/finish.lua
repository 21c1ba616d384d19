-- A job of an ordered key finished (done, or dead-lettered): the key moves on, and its next
-- job, if it was parked, is handed to the finishing task's slot (a chain) or, when the chain
-- may not go on, goes to the front of its lane under a new task id.
--
-- KEYS[1] the key's state hash, KEYS[2] the held-keys set, KEYS[3] the parked counter
-- ARGV[1] its sequence, ARGV[2] now (ms), ARGV[3] state lifetime while work is queued (s),
-- ARGV[4] lifetime once idle (s), ARGV[5] the order key, ARGV[6] the task id for a woken job,
-- ARGV[7] the task carrying a chain ("": the next job may not be chained), ARGV[8] "1" when the
-- next job waits in the finishing worker (order::local): it holds the key from now, ARGV[9] the
-- first sequence of the run that finishes (the job that held the key; a run of a handler that
-- only stores finishes ARGV[9]..ARGV[1] at once); SHARED (order::batched): four per lane: lane
-- name, data hash, meta hash prefix, active list
-- Returns {held ms (-1: it was not holding the key), how the next job goes ("chained",
-- "handed", "requeued" or ""), its lane, its bytes (chained only), "1" when its row is written
-- (chained only; start.lua's `w:<seq>`)}.

local state = KEYS[1]
local s = redis.call("hmget", state, "next", "done", "held", "since")
if not s[1] then
    return {-1, "", "", "", ""}
end
local seq = tonumber(ARGV[1])
local first = tonumber(ARGV[9])
if first <= tonumber(s[2] or "0") then
    return {-1, "", "", "", ""}
end
local held = -1
if s[4] and s[3] == ARGV[9] then
    held = tonumber(ARGV[2]) - tonumber(s[4])
end
-- Its own parked copy, if it was chained, goes with its hold (and a run's, if a copy of one
-- was parked too).
redis.call("hdel", state, "held", "since", "c", "p:" .. first, "w:" .. first)
if seq > first then
    -- One command for the run's flags and one for its parked copies (duplicates, rare), not
    -- two a job.
    local flags, copies = {}, {}
    for i = first + 1, seq do
        flags[#flags + 1] = "w:" .. i
        copies[#copies + 1] = "p:" .. i
    end
    redis.call("hdel", state, unpack(flags))
    local dropped = redis.call("hdel", state, unpack(copies))
    if dropped > 0 then
        redis.call("decrby", KEYS[3], dropped)
    end
end

if ARGV[8] == "1" then
    -- A parked copy of the next job (a duplicate delivery) is dropped: the waiter runs it.
    if redis.call("hdel", state, "p:" .. (seq + 1)) == 1 then
        redis.call("decr", KEYS[3])
    end
    redis.call("hset", state, "done", seq, "held", seq + 1, "since", ARGV[2])
    redis.call("zadd", KEYS[2], ARGV[2], ARGV[5])
    redis.call("expire", state, ARGV[3])
    return {held, "handed", "", "", ""}
end

local how, lane, bytes = "", "", ""
local field = "p:" .. (seq + 1)
local parked = redis.call("hget", state, field)
if parked then
    redis.call("decr", KEYS[3])
    local nl = string.find(parked, "\n", 1, true)
    lane, bytes = string.sub(parked, 1, nl - 1), string.sub(parked, nl + 1)
    if ARGV[7] ~= "" then
        -- Handed to the finishing slot: it holds the key from now; its bytes stay parked and
        -- `c` names the carrying task, so that if the carrier's worker dies, the carrier's
        -- re-delivery (apalis's orphan recovery) resumes it (start.lua) and nothing else runs.
        redis.call("hset", state, "done", seq, "held", seq + 1, "since", ARGV[2], "c", ARGV[7])
        redis.call("zadd", KEYS[2], ARGV[2], ARGV[5])
        redis.call("expire", state, ARGV[3])
        return {held, "chained", lane, bytes, redis.call("hget", state, "w:" .. (seq + 1)) or ""}
    end
    redis.call("hdel", state, field, "w:" .. (seq + 1))
    for i = 1, #SHARED, 4 do
        if SHARED[i] == lane then
            local id = ARGV[6]
            redis.call("hset", SHARED[i + 1], id, bytes)
            redis.call("hset", SHARED[i + 2] .. ":" .. id, "attempts", 0, "max_attempts", 25,
                "status", "Pending", "idempotency_key", "", "order_key", ARGV[5],
                "order_seq", seq + 1)
            -- The front: it was next in its key long ago, and its lane's order across keys is
            -- by when a job can run.
            redis.call("lpush", SHARED[i + 3], id)
            how = "requeued"
        end
    end
end
redis.call("hset", state, "done", seq)
redis.call("zrem", KEYS[2], ARGV[5])
if tonumber(s[1]) <= seq then
    redis.call("expire", state, ARGV[4])
else
    redis.call("expire", state, ARGV[3])
end
return {held, how, lane, "", ""}
