#!/usr/bin/env bash
# The local server's throughput and latency (docs/benchmarks.md, "Local
# server"): builds smsctl in release, serves a throwaway store with a
# high-limit tenant (scripts/bench-serve/config.json), and measures with wrk:
#   1. sends: the guide's action-API send on 16 connections; sends/s, p50,
#      p99; then the outbox must hold exactly what the server logged as sent;
#   2. a flood: a legitimate caller's p50/p99 at a steady pace, alone and
#      while 4 connections send with an unknown key and numbers cycling
#      through the country codes.
# BENCH_SECONDS (20), BENCH_CONNECTIONS (16), BENCH_THREADS (2) tune run 1;
# SMSCTL=path measures that smsctl binary instead of building one (an older
# build, for a before/after).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${BENCH_SECONDS:-20}"
connections="${BENCH_CONNECTIONS:-16}"
threads="${BENCH_THREADS:-2}"
export BENCH_KEY="bench-key-59-0123456789abcdef"
lua=scripts/bench-serve

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else sudo apt-get install -y wrk >/dev/null; fi
fi
smsctl="${SMSCTL:-}"
if [ -z "$smsctl" ]; then
  nice cargo build --release --locked -p smsctl
  smsctl="$PWD/target/release/smsctl"
fi
# Written-back pages of a build (or of the bench before) compete with the
# server's WAL syncs: flushed first, so that they are not measured.
sync

dir="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
db="$dir/sms.db"
"$smsctl" --db "$db" apply "$lua/config.json" >/dev/null
# The outbox's printed lines go to a file: a terminal would measure itself.
LOG_LEVEL=warn "$smsctl" --db "$db" serve --addr 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.err" &
server=$!
for _ in $(seq 100); do
  grep -q '^listening on http://' "$dir/serve.out" 2>/dev/null && break
  sleep 0.1
done
addr="$(sed -n 's|^listening on http://\([^ ]*\).*|\1|p' "$dir/serve.out")"
[ -n "$addr" ] || { cat "$dir/serve.err" >&2; echo "serve did not start" >&2; exit 1; }
url="http://$addr/"

field() { sed -n "s/^$1 //p" <<<"$2"; }
# The server's CPU time so far, in clock ticks (user + system).
cpu() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
# Counts in the store: outbox entries, and the message log by status.
counts() {
  python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
outbox = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
by = dict(db.execute("SELECT json_extract(data, '$.status'), count(*) FROM messages GROUP BY 1").fetchall())
print(outbox, by.get("sent", 0) + by.get("delivered", 0), by.get("sending", 0), sum(by.values()))
PY
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t1 -c4 -d2s -s "$lua/send.lua" "$url" >/dev/null   # warm-up
read -r warm_outbox _ <<<"$(counts)"

echo "== 1. sends: wrk -t$threads -c$connections -d${seconds}s --latency -s $lua/send.lua $url"
cpu_before="$(cpu)"
out="$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$lua/send.lua" "$url")"
cpu_used=$(( $(cpu) - cpu_before ))
sleep 2   # requests wrk left in flight at its stop finish on the server
read -r outbox logged sending total <<<"$(counts)"
ok="$(field sent_ok "$out")"
run_outbox=$((outbox - warm_outbox))
echo "sends/s: $(field rps "$out")   p50: $(ms "$(field p50_us "$out")")   p99: $(ms "$(field p99_us "$out")")"
echo "server CPU: $(awk -v t="$cpu_used" -v hz="$(getconf CLK_TCK)" -v n="$ok" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }') us per send"
echo "answered 'sent': $ok; outbox: $run_outbox new ($outbox in all); message log: $logged sent of $total, $sending still sending"
grep -E 'Socket errors|Non-2xx' <<<"$out" || true
if [ "$outbox" -ne "$logged" ] || [ "$sending" -ne 0 ]; then
  echo "FAIL: the outbox ($outbox) is not exactly the sends logged as sent ($logged; $sending still sending)" >&2
  exit 1
fi
# wrk drops the answers still in flight when it stops (at most one per connection).
if [ "$run_outbox" -lt "$ok" ] || [ "$run_outbox" -gt $((ok + connections)) ]; then
  echo "FAIL: $ok answered as sent, but $run_outbox in the outbox" >&2
  exit 1
fi
echo "ok: nothing lost; $((run_outbox - ok)) sent while wrk was stopping (their answers were not awaited)"

# The server applies each send's delivery receipt a second later: run 1
# leaves a backlog, which would weigh on run 2's measurements.
awaiting() {
  python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT count(*) FROM messages WHERE json_extract(data, '$.status') = 'sent'").fetchone()[0])
PY
}
drain_start=$SECONDS
while [ "$(awaiting)" -gt 0 ] && [ $((SECONDS - drain_start)) -lt 120 ]; do sleep 1; done
echo "receipts: run 1's applied $((SECONDS - drain_start)) s after it ended ($(awaiting) still awaiting one)"

echo "== 2. a legitimate caller (one send every 5 ms) with and without an unauthenticated flood"
steady() { wrk -t1 -c1 -d10s --latency -s "$lua/steady.lua" "$url"; }
alone="$(steady)"
wrk -t1 -c4 -d12s -s "$lua/flood.lua" "$url" >"$dir/flood.out" &
flood=$!
sleep 1
flooded="$(steady)"
wait "$flood"
echo "alone:        p50 $(ms "$(field p50_us "$alone")")   p99 $(ms "$(field p99_us "$alone")")   ($(field rps "$alone") sends/s)"
echo "during flood: p50 $(ms "$(field p50_us "$flooded")")   p99 $(ms "$(field p99_us "$flooded")")   ($(field rps "$flooded") sends/s; flood $(field rps "$(cat "$dir/flood.out")") requests/s)"
