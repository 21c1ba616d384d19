-- Runs a bench's wrk script outside wrk, for loadtests/tests/traffic_fixtures.rs:
--   luajit wrk.lua SCRIPT N SEED
-- prints the bodies of the script's first N requests, one a line. `wrk` is reduced to what the
-- scripts use: wrk.format returns the body, the thread index `tid` is 0 as in wrk's first thread.
local script, n, seed = arg[1], tonumber(arg[2]), tonumber(arg[3])
wrk = { method = "GET", headers = {}, format = function(_, _, _, body) return body end }
tid = 0
dofile(script)
if init then init({}) end
-- The scripts seed from their thread; a test seed on top makes the runs differ.
math.randomseed(seed)
for _ = 1, n do
  io.write(request(), "\n")
end
