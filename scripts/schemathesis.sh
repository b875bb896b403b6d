#!/usr/bin/env bash
# docs/openapi.yaml against the running API: schemathesis, every check, with
# schemathesis.toml (bounded, deterministic) against
# `smsctl serve --demo` on a throwaway store and a free loopback port, with
# the demo key. Any failure or warning fails. Installs the pinned
# schemathesis into .venv-schemathesis at the repository root when missing
# (its own venv: its dependencies are not those of moto, cfn-lint and SAM in
# .venv). The server is stopped whatever happens.
set -euo pipefail

SCHEMATHESIS_VERSION="4.32.5"

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-schemathesis"
cd "$root"

source scripts/pinned-venv.sh
pinned_venv "$venv" "schemathesis==$SCHEMATHESIS_VERSION"
# `--install-only`: the test command installs it while cargo builds.
if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi

# The selection the test command builds (scripts/test.sh,
# tests/src/binaries.rs): after it, nothing to rebuild. `--bin smsctl`
# alone would resolve features without the dev-dependencies and rebuild
# half the dependency tree.
cargo build --workspace --bins --tests --all-features --locked
smsctl="${CARGO_TARGET_DIR:-$root/target}/debug/smsctl"
key="$("$venv/bin/python" -c 'import json; print(json.load(open("cli/demo-config.json"))["api_keys"][0]["secret"])')"

work="$(mktemp -d)"
server_pid=""
stop() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop EXIT

# Port 0: the server picks a free port and says which.
"$smsctl" --db "$work/sms.db" serve --demo --addr 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 300); do
    url="$(sed -n 's|^listening on \(http://[^ ]*\) .*|\1|p' "$work/serve.log")"
    if [ -n "$url" ] || ! kill -0 "$server_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "smsctl serve --demo did not start; its output:" >&2
    cat "$work/serve.log" >&2
    exit 1
fi

echo "schemathesis $SCHEMATHESIS_VERSION: docs/openapi.yaml against smsctl serve --demo on $url"
# Hypothesis keeps its caches in the temporary folder, not in the work tree.
HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis" "$venv/bin/schemathesis" \
    --config-file schemathesis.toml \
    run docs/openapi.yaml --url "$url" --header "X-API-Key: $key" --checks all | tee "$work/report.txt"
# Its closing line is no test runner's: end on the plain count CI reads.
passed="$(sed -n 's/^ *[0-9]* generated, \([0-9]*\) passed$/\1/p' "$work/report.txt")"
if [ -z "$passed" ]; then
    echo "schemathesis printed no count of passed cases" >&2
    exit 1
fi
echo "schemathesis: $passed passed, 0 failed"
