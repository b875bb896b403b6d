-- The guide's action-API send, counting the answers that say it was sent
-- (the action API answers 200 for refusals too).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  local path = "/?action=pbxware.sms.send_message&server=59&to_number=%2B14165551234"
    .. "&body=WW91IGhhdmUgcmVjZWl2ZWQgYSBuZXcgdm9pY2VtYWlsLg=="
  req = wrk.format("GET", path, { ["X-API-Key"] = os.getenv("BENCH_KEY") })
end

function request()
  return req
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"success":"SMS message sent"', 1, true) then
    sent = sent + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("sent")
  end
  io.write(string.format("sent_ok %d\n", total))
  io.write(string.format("p50_us %d\np99_us %d\n", latency:percentile(50), latency:percentile(99)))
  io.write(string.format("rps %.0f\n", summary.requests / (summary.duration / 1e6)))
end
