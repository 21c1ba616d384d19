-- loadtests/bench/ingress/update.lua: realistic Telegram webhook deliveries for wrk.
--
-- Every request is a distinct update: update_id = BENCH_ID_BASE + thread * 100 000 000 + counter,
-- so two wrk threads never send the same id and a run never repeats an earlier phase's ids (each
-- phase gets its own BENCH_ID_BASE). The bodies are the Rust traffic model's (loadtests/src/traffic):
-- ../updates.generated.lua holds 1 000 of its updates without their update_id (chats by
-- popularity, kinds by each chat's mix, all three lanes, the Bot API's shapes with non-ASCII
-- text), and each request takes one at random. Regenerate that file with
-- `sluice-load traffic export`; never edit it.
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

-- The model's updates (loadtests/src/traffic, written by `sluice-load traffic export`), found
-- beside this script's folder whatever wrk's working directory is.
local HERE = debug.getinfo(1, "S").source:match("^@(.*/)") or ""
local UPDATES = dofile(HERE .. "../updates.generated.lua")

local function body_for(update_id)
  return string.format('{"update_id":%d', update_id) .. UPDATES[math.random(#UPDATES)].rest
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
