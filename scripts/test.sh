#!/usr/bin/env bash
# Every test: template lint and validation, then the whole workspace against
# the embedded store and against DynamoDB + SNS on a local moto server, then
# docs/openapi.yaml against the running local server (schemathesis).
# Installs what it needs (a Python venv in .venv for moto, cfn-lint and SAM;
# one in .venv-schemathesis for schemathesis).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/lint-template.sh
# Every feature: the AWS backends, the embedded default, smsctl's DynamoDB.
# Bounded fuzzing in the test command; see README for the long run.
export PROPTEST_CASES="${PROPTEST_CASES:-2000}"
bash scripts/with-moto.sh cargo test --workspace --all-features --locked --no-fail-fast
# After the tests, whose build of smsctl it reuses.
bash scripts/schemathesis.sh
