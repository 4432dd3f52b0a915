-- wrk script: POST the request body, each with its own Idempotency-Key.
-- Every wrk thread runs its own copy of this script: number them so that keys never collide.
local body = os.getenv("BOOKING_BENCH_BODY")
-- BOOKING_BENCH_KEYED empty: no Idempotency-Key at all (bench/cpu.py measures both).
local keyed = os.getenv("BOOKING_BENCH_KEYED") ~= ""
local counter = 0
local threads = 0
local id = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  id = wrk.thread:get("id")
end

request = function()
  counter = counter + 1
  if not keyed then
    return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  end
  local key = string.format("bench-%d-%d-%d", os.time(), id, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Idempotency-Key"] = key}, body)
end
