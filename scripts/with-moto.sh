#!/usr/bin/env bash
# Runs a command with a local moto server (DynamoDB, SNS) beside it:
#   bash scripts/with-moto.sh cargo test -p integration-tests --test aws_wire
# Installs moto into .venv at the repository root if missing, starts it on a
# free loopback port, exports MOTO_ENDPOINT, runs the command, stops moto and
# exits with the command's status.
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
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

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
MOTO_PORT="$port" MOTO_RECORDER_FILEPATH="$work/recording.jsonl" \
    "$venv/bin/python" - 127.0.0.1 "$port" >"$work/moto.log" 2>&1 <<'EOF' &
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
moto_pid=$!

stop_moto() {
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap stop_moto EXIT

endpoint="http://127.0.0.1:$port"
if ! "$venv/bin/python" - "$endpoint" <<'EOF'
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
then
    echo "moto did not answer on $endpoint; its log:" >&2
    cat "$work/moto.log" >&2
    exit 1
fi

export MOTO_ENDPOINT="$endpoint"
echo "moto $MOTO_VERSION on $MOTO_ENDPOINT" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
