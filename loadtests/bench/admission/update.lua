-- wrk script for loadtests/bench/admission/run: every request a new update_id, spread over
-- many chats (so the per-chat limiter does keyed work, as in production) from many threads.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tonumber(tid) or 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = os.getenv("BENCH_SECRET")
end

function request()
  counter = counter + 1
  local update_id = thread_id * 1000000000 + counter
  -- 100 000 chats per thread: a realistic spread of keys, each revisited every 100 000 requests.
  local chat = thread_id * 100000 + counter % 100000
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Ada"},' ..
    '"chat":{"id":%d,"type":"private","first_name":"Ada"},"date":1764000000,"text":"hello there"}}',
    update_id, counter, chat, chat)
  return wrk.format(nil, nil, nil, body)
end
