-- GCRA over the global, bot and (when there is one) chat bucket of one update, decided and
-- committed in one atomic step. Mirrors api/src/admission/gcra.rs (decide + commit) line by line;
-- a test runs both on the same sequences.
--
-- KEYS[i]   bucket i's theoretical arrival time (TAT), in microseconds; absent = full bucket.
-- ARGV[1]   now in microseconds, or "" to use the server clock: one clock for every replica.
-- ARGV[2]   the longest delay a `delay` policy may schedule, in microseconds.
-- ARGV[3i..3i+2] for bucket i: emission interval T (us), tolerance tau (us), policy
--           (reject | delay | drop).
-- Returns {verdict, bucket, at, now}: verdict 0 admit, 1 delay, 2 drop, 3 reject; bucket is the
-- 1-based index of the bucket named by a drop or reject (0 otherwise); at is the time the update
-- may run (admit: now; delay: the scheduled time; reject: the retry time) and now the time of the
-- decision, both in microseconds of the script's clock.

local now
if ARGV[1] ~= '' then
    now = tonumber(ARGV[1])
else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local max_delay = tonumber(ARGV[2])

local n = #KEYS
local tat, t, tau, policy = {}, {}, {}, {}
local at, binding = now, 0
for i = 1, n do
    local base = 3 * i
    t[i] = tonumber(ARGV[base])
    tau[i] = tonumber(ARGV[base + 1])
    policy[i] = ARGV[base + 2]
    -- A TAT in the past is a full bucket: the same as no key.
    tat[i] = math.max(tonumber(redis.call('GET', KEYS[i])) or now, now)
    local earliest = tat[i] - tau[i]
    if earliest > at then
        at = earliest
        binding = i
    end
end

if binding > 0 then
    local function first_over(p)
        for i = 1, n do
            if policy[i] == p and tat[i] - tau[i] > now then
                return i
            end
        end
        return 0
    end
    local reject = first_over('reject')
    if reject > 0 then
        return {3, reject, at, now}
    end
    local drop = first_over('drop')
    if drop > 0 then
        return {2, drop, at, now}
    end
    if at - now > max_delay then
        return {3, binding, at, now}
    end
end

-- Admitted: every bucket moves on by one cell, booked at `at` in a bucket over its limit and
-- now in one with room (its single cursor must not jump past the gap). A key lives exactly as
-- long as its bucket is not full again, so idle chats cost nothing.
for i = 1, n do
    local when = now
    if tat[i] - tau[i] > now then
        when = at
    end
    local next_tat = math.max(tat[i], when) + t[i]
    redis.call('SET', KEYS[i], string.format('%.0f', next_tat),
        'PX', math.max(1, math.ceil((next_tat - now) / 1000)))
end
if binding > 0 then
    return {1, 0, at, now}
end
return {0, 0, at, now}
