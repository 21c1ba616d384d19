-- Removes dead letters by id from one lane, with their meta and their origin index entry.
-- KEYS: the lane's entries hash, its zset by death time, its meta hash.
-- ARGV: the prefix of the lane's origin index keys (`...:dlq:by:`), then the ids.
-- A letter without meta was stored before the index existed and is in no origin index (the
-- indexing step gives meta and index entry together), so there is nothing else to remove.
-- Answers how many were in the zset (a letter removed meanwhile is not counted twice).
local removed = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local meta = redis.call('HGET', KEYS[3], id)
  if meta then
    local nl = string.find(meta, '\n', 1, true)
    local origin = nl and string.sub(meta, 1, nl - 1) or meta
    redis.call('ZREM', ARGV[1] .. origin, id)
    redis.call('HDEL', KEYS[3], id)
  end
  redis.call('HDEL', KEYS[1], id)
  removed = removed + redis.call('ZREM', KEYS[2], id)
end
return removed
