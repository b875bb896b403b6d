#!/usr/bin/env bash
# Runs a command with local moto servers (DynamoDB, SNS, S3, Transcribe)
# beside it:
#   bash scripts/with-moto.sh cargo test -p integration-tests --test aws_wire
# Installs moto into .venv at the repository root if missing, starts two
# servers on free loopback ports, exports MOTO_ENDPOINT (every test's) and
# MOTO_SOLO_ENDPOINT (the one test whose thousands of requests would hold up
# the rest: a moto server serves one request at a time, on one core), runs
# the command, stops moto and exits with the command's status.
set -euo pipefail

MOTO_VERSION="5.1.22"

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"

if [ "$#" -eq 0 ]; then
    echo "usage: $0 command [args...]" >&2
    exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import sys, moto, moto.server; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    "$venv/bin/pip" install --quiet "moto[server]==$MOTO_VERSION"
fi

work="$(mktemp -d)"

# moto_server, but serving one request at a time, and with transactions
# that roll back only what they touched.
#
# - One request at a time: moto_server runs each request on its own thread,
#   and moto's DynamoDB is not safe for that: a cancelled transaction
#   restores a copy of the table taken when it began, undoing whatever
#   concurrent requests wrote meanwhile, and two conditional writes can both
#   pass their check. DynamoDB serializes them; so does this.
# - Rollback: moto deep-copies every table a transaction names before it
#   runs, so each transaction costs time in proportion to the table and a
#   test that writes thousands of items slows to a crawl. Here a
#   transaction saves (and on failure restores) only the items it names;
#   what it does is moto's own code.
# The recorder appends to a file in the working directory unless told where.
cat >"$work/server.py" <<'EOF'
import copy, sys, types
from werkzeug.serving import run_simple
import moto.dynamodb.models as ddb
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

# Inside moto's DynamoDB module, a Table is no longer deep-copied (the
# transaction's backup); everything else is, as before.
ddb.copy = types.SimpleNamespace(deepcopy=lambda x, memo=None: x if isinstance(x, Table) else copy.deepcopy(x, memo))
original = ddb.DynamoDBBackend.transact_write_items

def transact_write_items(self, transact_items):
    saved = []
    for item in transact_items:
        op_type, op = next(iter(item.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op["Item"] if op_type == "Put" else op.get("Key", {})
        if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
            continue
        h = DynamoType(key[table.hash_key_attr])
        r = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        saved.append((table, h, r, copy.deepcopy(table.get_item(h, r))))
    try:
        return original(self, transact_items)
    except Exception:
        for table, h, r, before in reversed(saved):
            if before is None:
                table.delete_item(h, r)
            elif r is None:
                table.items[h] = before
            else:
                table.items[h][r] = before
        raise

ddb.DynamoDBBackend.transact_write_items = transact_write_items
run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False)
EOF
# Starts a server on a free loopback port, its recording and log in
# $work/$1; waits until it answers.
pids=()
endpoints=()
stop_moto() {
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    rm -rf "$work"
}
trap stop_moto EXIT

start_moto() {
    mkdir -p "$work/$1"
    local port
    port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    MOTO_PORT="$port" MOTO_RECORDER_FILEPATH="$work/$1/recording.jsonl" \
        "$venv/bin/python" "$work/server.py" 127.0.0.1 "$port" >"$work/$1/moto.log" 2>&1 &
    pids+=($!)
    endpoints+=("http://127.0.0.1:$port")
}

await_moto() {
    "$venv/bin/python" - "$2" <<'EOF' && return
import sys, time, urllib.request
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=2).read()
        break
    except Exception:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.2)
EOF
    echo "moto did not answer on $2; its log:" >&2
    cat "$work/$1/moto.log" >&2
    exit 1
}

# Both start at once: importing moto takes seconds.
start_moto shared
start_moto solo
await_moto shared "${endpoints[0]}"
await_moto solo "${endpoints[1]}"

export MOTO_ENDPOINT="${endpoints[0]}" MOTO_SOLO_ENDPOINT="${endpoints[1]}"
echo "moto $MOTO_VERSION on $MOTO_ENDPOINT, and on $MOTO_SOLO_ENDPOINT for one test" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
