#!/usr/bin/env bash
# Lints template.yaml with cfn-lint (errors, warnings and informational
# checks) and `sam validate --lint`; any finding fails. Installs the pinned
# tools into .venv at the repository root when missing (scripts/with-moto.sh
# shares that venv, so only what is missing or at another version is touched).
set -euo pipefail

CFN_LINT_VERSION="1.58.0"
# aws-sam-cli pins cfn-lint to <1.59: keep the two in step.
SAM_CLI_VERSION="1.170.0"
# docs/openapi.yaml is checked here too: same venv, same kind of check.
OPENAPI_VALIDATOR_VERSION="0.9.0"

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
cd "$root"

source scripts/pinned-venv.sh
pinned_venv "$venv" "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION" \
    "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION"

# SAM's linter and translator want a region, never credentials; no telemetry.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export SAM_CLI_TELEMETRY=0

echo "cfn-lint $CFN_LINT_VERSION: template.yaml"
"$venv/bin/cfn-lint" --include-checks I -- template.yaml
echo "sam $SAM_CLI_VERSION validate --lint"
"$venv/bin/sam" validate --lint --template-file template.yaml
# The dashboard's body is JSON inside a !Sub: neither linter reads it.
"$venv/bin/python" - template.yaml <<'PY'
import json, re, sys
from cfnlint.decode import decode
template, errors = decode(sys.argv[1])
assert not errors, errors
body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
PY
echo "template.yaml: no findings"
"$venv/bin/python" -c "import sys, yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open(sys.argv[1])))" docs/openapi.yaml
echo "docs/openapi.yaml: valid OpenAPI"
