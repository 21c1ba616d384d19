-- wrk script for loadtests/bench/admission/run: every request a new update_id, with a body of the
-- Rust traffic model (../updates.generated.lua, written by `sluice-load traffic export`): its
-- chats by popularity (so the per-chat limiter does keyed work, as in production) and its mix of
-- kinds and lanes, from many threads.
local HERE = debug.getinfo(1, "S").source:match("^@(.*/)") or ""
local UPDATES = dofile(HERE .. "../updates.generated.lua")
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tonumber(tid) or 0
  math.randomseed(1 + thread_id)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = os.getenv("BENCH_SECRET")
end

function request()
  counter = counter + 1
  local update_id = thread_id * 1000000000 + counter
  local body = string.format('{"update_id":%d', update_id) .. UPDATES[math.random(#UPDATES)].rest
  return wrk.format(nil, nil, nil, body)
end
