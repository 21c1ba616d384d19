-- Indexes letters stored before the origin index existed: meta and index entry together, and
-- only for a letter still in the lane (one replayed or purged since it was read stays gone).
-- KEYS: the lane's zset by death time, its meta hash.
-- ARGV: the prefix of the lane's origin index keys, then pairs of id and meta.
local indexed = 0
for i = 2, #ARGV, 2 do
  local id, meta = ARGV[i], ARGV[i + 1]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and redis.call('HSETNX', KEYS[2], id, meta) == 1 then
    local nl = string.find(meta, '\n', 1, true)
    local origin = nl and string.sub(meta, 1, nl - 1) or meta
    redis.call('ZADD', ARGV[1] .. origin, score, id)
    indexed = indexed + 1
  end
end
return indexed
