-- wrk script: POST the request body, each with its own Idempotency-Key.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BOOKING_BENCH_BODY")
local counter = 0
request = function()
  counter = counter + 1
  local key = string.format("%d-%d-%d", math.random(1, 1e9), counter, os.time())
  return wrk.format(nil, nil, {["Idempotency-Key"] = key})
end
