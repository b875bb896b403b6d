-- A legitimate caller at a steady pace: one send every BENCH_PACE_MS.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "5")

function init(args)
  local path = "/?action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body=aGk="
  req = wrk.format("GET", path, { ["X-API-Key"] = os.getenv("BENCH_KEY") })
end

function request()
  return req
end

function delay()
  return pace
end

function done(summary, latency, requests)
  io.write(string.format("p50_us %d\np99_us %d\n", latency:percentile(50), latency:percentile(99)))
  io.write(string.format("rps %.0f\n", summary.requests / (summary.duration / 1e6)))
end
