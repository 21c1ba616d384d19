-- One Bot API call's turn under every limit it meets, decided atomically for all workers.
--
-- KEYS[1]   the bot's freeze key: set (with a PX) by a 429; while it lives nothing is booked
--           before it expires.
-- KEYS[2..] GCRA buckets, the chat's (and group's) first, then the bot's or the paid budget's.
--           A value is the bucket's theoretical arrival time (TAT) in microseconds; absent = a
--           full bucket.
-- ARGV[1]   now in microseconds, or "" for the server clock (one clock for every worker).
-- ARGV[2]   the longest wait allowed (us).
-- ARGV[3]   how many of the buckets are the chat's (per-target buckets).
-- ARGV[4..] per bucket: emission interval T (us), tolerance tau (us).
--
-- Returns {verdict, wait_us, binding}:
--   0 booked: every bucket is charged at now + wait; sleep wait, then send.
--   1 retry:  the chat is not free yet; nothing is booked; call again after wait.
--   2 refused: the turn is further than ARGV[2]; nothing is booked.
-- binding is the 1-based index of the bucket that sets the wait (0: none or the freeze).
--
-- Why a chat that is not free is not booked ahead: a booking charges every bucket at the
-- booked time, and a bucket has one cursor (its TAT). Booking a message to a busy chat 10 s
-- ahead would push the bot's cursor 10 s ahead and stop all its other chats meanwhile. The
-- bot's and the paid bucket are booked ahead: every call of the bot meets them, so their
-- bookings queue calls in arrival order without a gap.

local now
if ARGV[1] ~= '' then
    now = tonumber(ARGV[1])
else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local max_wait = tonumber(ARGV[2])
local targets = tonumber(ARGV[3])
local n = #KEYS - 1

local at, binding = now, 0
local frozen = redis.call('PTTL', KEYS[1])
if frozen > 0 then
    at = now + frozen * 1000
end

local tat, t, tau = {}, {}, {}
local target_at, target_binding = now, 0
for i = 1, n do
    t[i] = tonumber(ARGV[3 + 2 * i - 1])
    tau[i] = tonumber(ARGV[3 + 2 * i])
    -- A TAT in the past is a full bucket: the same as no key.
    tat[i] = math.max(tonumber(redis.call('GET', KEYS[1 + i])) or now, now)
    local earliest = tat[i] - tau[i]
    if i <= targets and earliest > target_at then
        target_at, target_binding = earliest, i
    end
    if earliest > at then
        at, binding = earliest, i
    end
end

if at - now > max_wait then
    return {2, at - now, binding}
end
if target_at > now then
    return {1, math.max(target_at, at) - now, target_binding}
end

for i = 1, n do
    local new = math.max(tat[i], at) + t[i]
    -- A key lives exactly as long as its bucket is not full again, so idle chats cost nothing.
    redis.call('SET', KEYS[1 + i], string.format('%.0f', new),
        'PX', math.max(1, math.ceil((new - now) / 1000)))
end
return {0, at - now, binding}
