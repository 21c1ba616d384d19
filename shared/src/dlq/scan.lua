-- One page of dead letters, newest first, merged from several sorted sets (a lane's zset, or an
-- origin's index in each lane), after a cursor, within a time range, optionally only those whose
-- reason contains a text. Examines at most `budget` letters, so a rare reason costs a bounded
-- amount per call and the caller continues from the returned cursor.
--
-- The order is (death ms, lane rank, id), descending; a cursor is the last letter examined, and
-- the next call starts strictly after it, so letters added or removed meanwhile shift nothing.
--
-- KEYS: per source three keys: its zset, its lane's meta hash, its lane's entries hash.
-- ARGV: limit, budget, since ms or '-inf', until ms (exclusive) or '+inf', cursor ms or '',
--       cursor rank, cursor id, needle (lower-case ASCII) or '', mode ('json', 'ids', 'count'),
--       then each source's lane rank.
-- Answers: scanned, found, more (0/1), next ms, next rank, next id, then per letter found:
--   rank, id, and in 'json' mode the entry.
local limit, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
local since, before = ARGV[3], ARGV[4]
local cms = nil
if ARGV[5] ~= '' then cms = tonumber(ARGV[5]) end
local crank, cid = tonumber(ARGV[6]), ARGV[7]
local needle, mode = ARGV[8], ARGV[9]
-- Without a reason every letter matches: a page needs no more than `limit` (+1 to see more).
local CHUNK = 256
if needle == '' then CHUNK = math.max(1, math.min(CHUNK, limit + 1)) end

local sources = {}
for i = 1, #KEYS / 3 do
  local zset = KEYS[3 * i - 2]
  local first = 0
  if before ~= '+inf' then first = redis.call('ZCOUNT', zset, before, '+inf') end
  if cms then
    local newer = redis.call('ZCOUNT', zset, '(' .. ARGV[5], '+inf')
    if newer > first then first = newer end
  end
  sources[i] = {
    zset = zset, meta = KEYS[3 * i - 1], entries = KEYS[3 * i], rank = tonumber(ARGV[9 + i]),
    pos = first, stop = redis.call('ZCOUNT', zset, since, '+inf') - 1, buf = {}, at = 1,
  }
end

local function head(s)
  if s.at > #s.buf then
    if s.pos > s.stop then return nil end
    local last = math.min(s.pos + CHUNK - 1, s.stop)
    local raw = redis.call('ZREVRANGE', s.zset, s.pos, last, 'WITHSCORES')
    s.pos, s.buf, s.at = last + 1, {}, 1
    local ids = {}
    for j = 1, #raw, 2 do
      s.buf[#s.buf + 1] = { id = raw[j], ms = tonumber(raw[j + 1]), score = raw[j + 1] }
      ids[#ids + 1] = raw[j]
    end
    if needle ~= '' and #ids > 0 then
      local metas = redis.call('HMGET', s.meta, unpack(ids))
      for j = 1, #metas do s.buf[j].meta = metas[j] end
    end
    if #s.buf == 0 then return nil end
  end
  return s.buf[s.at]
end

local function newer(a, ra, b, rb)
  if a.ms ~= b.ms then return a.ms > b.ms end
  if ra ~= rb then return ra > rb end
  return a.id > b.id
end

local function after_cursor(item, rank)
  if not cms or item.ms < cms then return true end
  if item.ms > cms then return false end
  if rank ~= crank then return rank < crank end
  return item.id < cid
end

local function reason_of(s, item)
  local meta = item.meta
  if meta then
    -- Lower-cased when stored.
    local nl = string.find(meta, '\n', 1, true)
    if nl then return string.sub(meta, nl + 1) end
    return ''
  end
  -- Stored before the meta hash existed: read the reason from the letter itself.
  local entry = redis.call('HGET', s.entries, item.id)
  if entry then
    local ok, letter = pcall(cjson.decode, entry)
    if ok and type(letter) == 'table' and type(letter.reason) == 'string' then
      return string.lower(letter.reason)
    end
  end
  return nil
end

local out = {}
local scanned, found = 0, 0
local last, last_rank = nil, nil
while found < limit and scanned < budget do
  local best, from = nil, nil
  for _, s in ipairs(sources) do
    local h = head(s)
    if h and (best == nil or newer(h, s.rank, best, from.rank)) then best, from = h, s end
  end
  if best == nil then break end
  from.at = from.at + 1
  if after_cursor(best, from.rank) then
    scanned = scanned + 1
    last, last_rank = best, from.rank
    local ok = true
    if needle ~= '' then
      local reason = reason_of(from, best)
      ok = reason ~= nil and string.find(reason, needle, 1, true) ~= nil
    end
    if ok then
      found = found + 1
      if mode == 'json' then
        local entry = redis.call('HGET', from.entries, best.id)
        if entry then
          out[#out + 1] = tostring(from.rank)
          out[#out + 1] = best.id
          out[#out + 1] = entry
        end
      elseif mode == 'ids' then
        out[#out + 1] = tostring(from.rank)
        out[#out + 1] = best.id
      end
    end
  end
end

local more = 0
for _, s in ipairs(sources) do
  if s.at <= #s.buf or s.pos <= s.stop then more = 1 end
end
local next_ms, next_rank, next_id = ARGV[5], ARGV[6], ARGV[7]
if last then next_ms, next_rank, next_id = last.score, tostring(last_rank), last.id end
local answer = { tostring(scanned), tostring(found), tostring(more), next_ms, next_rank, next_id }
for _, v in ipairs(out) do answer[#answer + 1] = v end
return answer
