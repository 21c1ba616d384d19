-- Stores one dead letter and indexes it, in one step: a listed id always has its entry, its
-- meta and its place in its origin's index.
-- KEYS: the lane's entries hash, its zset by death time, its meta hash, the origin's index zset.
-- ARGV: id, the letter's JSON, death time (ms), meta (`<origin tag>\n<reason>`).
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return 1
