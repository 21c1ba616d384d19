-- A job of an ordered key finished (done, or dead-lettered): the key moves on, and its next
-- job, if it was parked, goes to the front of its lane under a new task id.
--
-- KEYS[1] the key's state hash, KEYS[2] the held-keys set, KEYS[3] the parked counter
-- ARGV[1] its sequence, ARGV[2] now (ms), ARGV[3] state lifetime while work is queued (s),
-- ARGV[4] lifetime once idle (s), ARGV[5] the order key, ARGV[6] the task id for a woken job,
-- then four per lane: lane name, data hash, meta hash prefix, active list
-- Returns {held ms (-1: it was not holding the key), lane of the woken job or ""}.

local state = KEYS[1]
if redis.call("exists", state) == 0 then
    return {-1, ""}
end
local seq = tonumber(ARGV[1])
local done = tonumber(redis.call("hget", state, "done") or "0")
if seq <= done then
    return {-1, ""}
end
local held = -1
local since = redis.call("hget", state, "since")
if since and redis.call("hget", state, "held") == ARGV[1] then
    held = tonumber(ARGV[2]) - tonumber(since)
end
redis.call("hset", state, "done", seq)
redis.call("hdel", state, "held", "since")
redis.call("zrem", KEYS[2], ARGV[5])

local woken = ""
local field = "p:" .. (seq + 1)
local parked = redis.call("hget", state, field)
if parked then
    redis.call("hdel", state, field)
    redis.call("decr", KEYS[3])
    local nl = string.find(parked, "\n", 1, true)
    local lane, bytes = string.sub(parked, 1, nl - 1), string.sub(parked, nl + 1)
    for i = 7, #ARGV, 4 do
        if ARGV[i] == lane then
            local id = ARGV[6]
            redis.call("hset", ARGV[i + 1], id, bytes)
            redis.call("hset", ARGV[i + 2] .. ":" .. id, "attempts", 0, "max_attempts", 25,
                "status", "Pending", "idempotency_key", "", "order_key", ARGV[5],
                "order_seq", seq + 1)
            -- The front: it was next in its key long ago, and its lane's order across keys is
            -- by when a job can run.
            redis.call("lpush", ARGV[i + 3], id)
            woken = lane
        end
    end
end
local next = tonumber(redis.call("hget", state, "next") or "0")
if next <= seq then
    redis.call("expire", state, ARGV[4])
else
    redis.call("expire", state, ARGV[3])
end
return {held, woken}
