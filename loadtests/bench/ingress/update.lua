-- loadtests/bench/ingress/update.lua: realistic Telegram webhook deliveries for wrk.
--
-- Every request is a distinct update: update_id = BENCH_ID_BASE + thread * 100 000 000 + counter,
-- so two wrk threads never send the same id and a run never repeats an earlier phase's ids (each
-- phase gets its own BENCH_ID_BASE). Updates spread over 10 000 chats (6 000 private chats with
-- user ids on both sides of 2^32, 4 000 supergroups/channels with -100... ids) and 50 000 users,
-- with a mix of kinds that fills all three lanes:
--   message (private 40 %, group 25 %)      -> normal     bot command (10 %)    -> high
--   callback_query (10 %)                   -> high       edited_message (5 %)  -> normal
--   channel_post (5 %), message_reaction (5 %) -> low
-- Bodies are 300-600 bytes of the Bot API's own shape, with some non-ASCII text.
--
-- Environment (set by ./run):
--   BENCH_BOT        bot name in the URL path (default: bench)
--   BENCH_SECRET     X-Telegram-Bot-Api-Secret-Token (default: bench-secret)
--   BENCH_ID_BASE    first update_id of this phase (default: 1 000 000 000)
--   BENCH_THREADS    wrk's -t, needed for pacing (default: 2)
--   BENCH_RATE       target requests/s over all threads; 0 or unset = as fast as possible
--   BENCH_DUMP       if set, each thread appends its first 50 bodies to this file
--
-- Fixed rate: plain wrk has no -R, so when BENCH_RATE > 0 each thread paces itself in delay():
-- the thread keeps a schedule of send slots spaced threads/rate seconds apart, and every request
-- (from any of the thread's connections) takes the next slot and waits for it (wrk's timers
-- have 1 ms resolution, so requests leave in small groups at millisecond ticks). A slot up to
-- 100 ms late is still used at once (catch-up); older ones are skipped. wrk times a request from
-- the moment it is written, not from its slot, so a server stall longer than that hides the
-- requests it delayed (coordinated omission). The achieved rate is printed next to the target.
--
-- done() prints one line "@@bench {json}" with the figures ./run reads (latencies in µs).

local ffi = require("ffi")
ffi.cdef [[
  typedef long time_t;
  struct bench_timespec { time_t tv_sec; long tv_nsec; };
  int clock_gettime(int clk_id, struct bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("struct bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local BOT = env("BENCH_BOT", "bench")
local SECRET = env("BENCH_SECRET", "bench-secret")
local ID_BASE = tonumber(env("BENCH_ID_BASE", "1000000000"))
local THREADS = tonumber(env("BENCH_THREADS", "2"))
local RATE = tonumber(env("BENCH_RATE", "0"))
local DUMP = os.getenv("BENCH_DUMP")
local THREAD_STRIDE = 100000000

-- ---- main state: hand each thread its index, collect per-thread counters at the end ---------

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

-- ---- thread state -----------------------------------------------------------------------------

-- Globals, so that done() can read them through thread:get().
bench_counter = 0        -- requests built by this thread
bench_body_bytes = 0     -- their body bytes (for the mean body size)
local dumped = 0
local interval_ms = 0    -- pacing: spacing of this thread's send slots
local next_slot = nil    -- pacing: the next free slot (monotonic ms)

local FIRST = { "Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances",
  "Edsger", "Hedy", "Alan", "Radia", "José", "Zoë", "Łukasz", "Søren", "Ana", "Mikhail" }
local LAST = { "Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
  "Allen", "Dijkstra", "Lamarr", "Turing", "Perlman", "García", "Kowalski", "Nielsen" }
local LANGS = { "en", "en", "en", "de", "es", "pt-br", "ru", "uk", "fr", "it", "tr" }
local TITLES = { "Rust Beginners", "Weekend Hikers 🏔", "Café du Coin", "Release Engineering",
  "Board Games Night", "Kyiv Tech Meetup", "Photography ✨", "Sourdough Club" }
local TEXTS = {
  "ok",
  "Thanks! 🙏",
  "see you tomorrow at 10?",
  "Can someone share the link to yesterday's slides, please?",
  "I pushed the fix, the build is green again. Let me know if the deploy looks fine on your side.",
  "Привет! Напомни, пожалуйста, во сколько начинается встреча в четверг?",
  "Der Zug hat wieder 20 Minuten Verspätung, fangt bitte ohne mich an.",
  "Here is the plan for Saturday: meet at the station at 8:15, train at 8:32, lunch at the hut, back by 18:00. Bring water and a rain jacket, the forecast is not great.",
  "¿Alguien tiene un cargador USB-C que me pueda prestar mañana? Se me olvidó el mío en casa 😅",
  "Quick reminder: the quarterly report is due on Friday. Please upload your section to the shared folder and ping me when done so I can merge everything before the review call.",
}
local COMMANDS = { "/start", "/help", "/settings", "/stats", "/subscribe", "/stop" }
local REACTIONS = { "👍", "❤", "🔥", "🎉", "😁", "👏", "🤔" }

local function pick(t) return t[math.random(#t)] end

-- A user: 50 000 of them, ids on both sides of 2^32 (Telegram's ids exceed 32 bits).
local function user(u)
  local id = (u % 2 == 0) and (200000000 + u * 9973) or (5000000000 + u * 7919)
  local first, last = FIRST[u % #FIRST + 1], LAST[u % #LAST + 1]
  return id, string.format(
    '{"id":%d,"is_bot":false,"first_name":"%s","last_name":"%s","username":"%s_%d","language_code":"%s"}',
    id, first, last, string.lower(last), u, LANGS[u % #LANGS + 1])
end

-- Chat c of 10 000: 0-5999 private (the chat is the user), 6000-9999 supergroups / channels.
local function group_chat(c, kind)
  local id = -1001000000000 - c * 131
  return string.format('{"id":%d,"title":"%s","username":"group_%d","type":"%s"}',
    id, TITLES[c % #TITLES + 1], c, kind)
end

local function private_chat(c)
  local uid, _ = user(c)
  local first, last = FIRST[c % #FIRST + 1], LAST[c % #LAST + 1]
  return uid, string.format('{"id":%d,"first_name":"%s","last_name":"%s","username":"%s_%d","type":"private"}',
    uid, first, last, string.lower(last), c)
end

-- A message object in chat c; text may start with a bot command.
local function message(c, mid, date, text, extra)
  local from_json, chat_json
  if c < 6000 then
    local _, f = user(c)
    from_json = f
    local _, ch = private_chat(c)
    chat_json = ch
  else
    local _, f = user(math.random(0, 49999))
    from_json = f
    chat_json = group_chat(c, "supergroup")
  end
  return string.format('{"message_id":%d,"from":%s,"chat":%s,"date":%d%s,"text":"%s"}',
    mid, from_json, chat_json, date, extra or "", text)
end

local function body_for(update_id)
  local r = math.random(100)
  local c = math.random(0, 9999)
  local mid = 1000 + (update_id % 900000)
  local date = 1764000000 + (update_id % 86400)
  if r <= 65 then -- plain message: private (0-5999) or group chat
    if r <= 40 then c = math.random(0, 5999) else c = math.random(6000, 9999) end
    return string.format('{"update_id":%d,"message":%s}', update_id,
      message(c, mid, date, pick(TEXTS)))
  elseif r <= 75 then -- bot command -> high lane
    local cmd = pick(COMMANDS)
    local text = cmd .. " " .. pick(TEXTS)
    local msg = message(c, mid, date, text)
    msg = string.sub(msg, 1, -2) ..
        string.format(',"entities":[{"offset":0,"length":%d,"type":"bot_command"}]}', #cmd)
    return string.format('{"update_id":%d,"message":%s}', update_id, msg)
  elseif r <= 85 then -- callback query on a bot message -> high lane
    local _, from_json = user(math.random(0, 49999))
    local chat_json
    if c < 6000 then _, chat_json = private_chat(c) else chat_json = group_chat(c, "supergroup") end
    return string.format(
      '{"update_id":%d,"callback_query":{"id":"%d","from":%s,"message":{"message_id":%d,"from":{"id":7000000001,"is_bot":true,"first_name":"Sluice Bench","username":"sluice_bench_bot"},"chat":%s,"date":%d,"text":"Pick one:","reply_markup":{"inline_keyboard":[[{"text":"Yes","callback_data":"vote:yes:%d"},{"text":"No","callback_data":"vote:no:%d"}]]}},"chat_instance":"%d","data":"vote:yes:%d"}}',
      update_id, 4000000000000000 + update_id, from_json, mid, chat_json, date, mid, mid,
      -5000000000000000 - c, mid)
  elseif r <= 90 then -- edited message -> normal lane
    return string.format('{"update_id":%d,"edited_message":%s}', update_id,
      message(c, mid, date, pick(TEXTS), string.format(',"edit_date":%d', date + 42)))
  elseif r <= 95 then -- channel post -> low lane
    c = math.random(6000, 9999)
    local chat_json = group_chat(c, "channel")
    return string.format(
      '{"update_id":%d,"channel_post":{"message_id":%d,"sender_chat":%s,"chat":%s,"date":%d,"text":"%s"}}',
      update_id, mid, chat_json, chat_json, date, pick(TEXTS))
  else -- reaction in a group -> low lane
    c = math.random(6000, 9999)
    local _, from_json = user(math.random(0, 49999))
    return string.format(
      '{"update_id":%d,"message_reaction":{"chat":%s,"message_id":%d,"user":%s,"date":%d,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"%s"}]}}',
      update_id, group_chat(c, "supergroup"), mid, from_json, date, pick(REACTIONS))
  end
end

function init(args)
  math.randomseed(1 + tid + ID_BASE % 1000003)
  if RATE > 0 then
    interval_ms = 1000 * THREADS / RATE
  else
    delay = nil -- no delay() at all: wrk then sends back-to-back without a timer per request
  end
end

local path = "/webhook/telegram/" .. BOT
local headers = {
  ["Content-Type"] = "application/json",
  ["X-Telegram-Bot-Api-Secret-Token"] = SECRET,
}

function request()
  local update_id = ID_BASE + tid * THREAD_STRIDE + bench_counter
  bench_counter = bench_counter + 1
  local body = body_for(update_id)
  bench_body_bytes = bench_body_bytes + #body
  if DUMP and dumped < 50 then
    local f = io.open(DUMP, "a")
    if f then f:write(body, "\n"); f:close() end
    dumped = dumped + 1
  end
  return wrk.format("POST", path, headers, body)
end

-- Slots more than CATCH_UP_MS in the past are given up: after a longer stall of the wrk thread
-- (or of every connection) the schedule restarts from now instead of sending a burst.
local CATCH_UP_MS = 100

function delay()
  local now = now_ms()
  if next_slot == nil or next_slot < now - CATCH_UP_MS then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  if wait < 0 then return 0 end
  return wait
end

function done(summary, latency, requests)
  local built, bytes = 0, 0
  for _, t in ipairs(threads) do
    built = built + (t:get("bench_counter") or 0)
    bytes = bytes + (t:get("bench_body_bytes") or 0)
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    '@@bench {"requests":%d,"duration_s":%.3f,"rps":%.1f,"target_rps":%.1f,' ..
    '"lat_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},' ..
    '"non_2xx_3xx":%d,"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"bodies_built":%d,"mean_body_bytes":%.0f}\n',
    summary.requests, secs, summary.requests / secs, RATE,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout,
    built, built > 0 and bytes / built or 0))
end
