-- Freezes a bot's sends for ARGV[1] milliseconds, or longer if a freeze already runs longer:
-- a short 429 answered late must not cut short a longer one.
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then
    redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
    return 1
end
return 0
