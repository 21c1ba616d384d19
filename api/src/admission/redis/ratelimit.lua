-- GCRA over the global, bot and (when there is one) chat bucket of each update of a batch, each
-- decided and committed in turn, the whole batch in one atomic step. Mirrors
-- api/src/admission/gcra.rs (decide + commit) line by line; a test runs both on the same
-- sequences.
--
-- KEYS      the buckets of every update, in order: 2 or 3 per update. A bucket's value is its
--           theoretical arrival time (TAT) in microseconds; absent = full bucket.
-- ARGV[1]   now in microseconds, or "" to use the server clock: one clock for every replica.
-- ARGV[2]   the number of updates.
-- then per update: the number of its buckets, the longest delay a `delay` policy may schedule
--           (us), and per bucket: emission interval T (us), tolerance tau (us), policy
--           (reject | delay | drop).
-- Returns per update {verdict, bucket, at}, flattened, then now: verdict 0 admit, 1 delay,
-- 2 drop, 3 reject; bucket is the 1-based index of the bucket named by a drop or reject (0
-- otherwise); at is the time the update may run (admit: now; delay: the scheduled time; reject:
-- the retry time); all times in microseconds of the script's clock.

local now
if ARGV[1] ~= '' then
    now = tonumber(ARGV[1])
else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Every bucket is read once and written once per call, whatever the number of updates in it
-- using it (the global and bot buckets are met by every update).
local cache, dirty = {}, {}
local function load(key)
    if cache[key] == nil then
        cache[key] = tonumber(redis.call('GET', key)) or false
    end
    return cache[key] or nil
end

-- One update: its buckets are KEYS[k + 1 ..], its arguments ARGV[a ..].
local function decide(k, a)
    local n = tonumber(ARGV[a])
    local max_delay = tonumber(ARGV[a + 1])
    local key, tat, t, tau, policy = {}, {}, {}, {}, {}
    local at, binding = now, 0
    for i = 1, n do
        local base = a + 2 + 3 * (i - 1)
        key[i] = KEYS[k + i]
        t[i] = tonumber(ARGV[base])
        tau[i] = tonumber(ARGV[base + 1])
        policy[i] = ARGV[base + 2]
        -- A TAT in the past is a full bucket: the same as no key.
        tat[i] = math.max(load(key[i]) or now, now)
        local earliest = tat[i] - tau[i]
        if earliest > at then
            at = earliest
            binding = i
        end
    end
    local used = {n, 2 + 3 * n}

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
            return {3, reject, at}, used
        end
        local drop = first_over('drop')
        if drop > 0 then
            return {2, drop, at}, used
        end
        if at - now > max_delay then
            return {3, binding, at}, used
        end
    end

    -- Admitted: every bucket moves on by one cell, booked at `at` in a bucket over its limit and
    -- now in one with room (its single cursor must not jump past the gap).
    for i = 1, n do
        local when = now
        if tat[i] - tau[i] > now then
            when = at
        end
        cache[key[i]] = math.max(tat[i], when) + t[i]
        dirty[key[i]] = true
    end
    if binding > 0 then
        return {1, 0, at}, used
    end
    return {0, 0, at}, used
end

local out = {}
local k, a = 0, 3
for _ = 1, tonumber(ARGV[2]) do
    local answer, used = decide(k, a)
    for _, v in ipairs(answer) do
        out[#out + 1] = v
    end
    k, a = k + used[1], a + used[2]
end
-- A key lives exactly as long as its bucket is not full again, so idle chats cost nothing.
for key in pairs(dirty) do
    redis.call('SET', key, string.format('%.0f', cache[key]),
        'PX', math.max(1, math.ceil((cache[key] - now) / 1000)))
end
out[#out + 1] = now
return out
