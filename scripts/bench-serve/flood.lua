-- Unauthenticated flood: an unknown key, destinations cycling through the
-- country codes +1 ... +999 with valid-looking digits, so that a server that
-- parses numbers before checking the key would thrash its number library.
local cc = 0

function request()
  cc = cc % 999 + 1
  local number = string.sub(tostring(cc) .. "4165551234567", 1, 12)
  return wrk.format("GET", "/?apikey=unknown-key-0000000000&action=pbxware.sms.send_message"
    .. "&server=59&to_number=%2B" .. number .. "&body=aGk=")
end

function done(summary, latency, requests)
  io.write(string.format("rps %.0f\n", summary.requests / (summary.duration / 1e6)))
end
