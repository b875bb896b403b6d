#!/usr/bin/env bash
# Every test: formatting and lints, template lint and validation, then the
# whole workspace against the embedded store and against DynamoDB + SNS on a
# local moto server, then docs/openapi.yaml against the running local server
# (schemathesis).
# Installs what it needs (a Python venv in .venv for moto, cfn-lint and SAM;
# one in .venv-schemathesis for schemathesis; the browser tests' axe-core in
# tests/browser/node_modules; Debian's chromium, chromedriver and npm, with
# apt, when they are missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# Formatting first: it takes a second and fails before anything is built.
cargo fmt --all --check

# System packages, only when missing (sudo unless already root): venv for
# the Python tools; Debian's chromium and chromedriver for the console's
# browser tests (tests/src/browser.rs never downloads a browser); npm for
# their axe-core.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
    as_root apt-get update -qq && as_root apt-get install -y -qq "${missing[@]}"
fi

# axe-core again only when package-lock.json is newer than the install
# (npm writes node_modules/.package-lock.json last).
browser_deps() {
    [ tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json ] ||
        npm ci --prefix tests/browser --no-audit --no-fund
}

# The Python tools and axe-core install and the template is linted while
# cargo builds: one waits on the network and the disk, the other on the CPU.
python_log="$(mktemp)"
trap 'kill "${python_tools:-}" 2>/dev/null || true; rm -f "$python_log"' EXIT
( browser_deps && bash scripts/lint-template.sh && bash scripts/with-moto.sh true &&
    bash scripts/schemathesis.sh --install-only ) >"$python_log" 2>&1 &
python_tools=$!
# Every feature: the AWS backends, the embedded default, smsctl's DynamoDB;
# every target, the binaries too (tests/src/binaries.rs runs them), built
# once here. Linted in the same pass: clippy's driver wraps rustc for the
# workspace's own crates (what `cargo clippy` does), so its lints
# (rustfmt.toml, clippy.toml, [workspace.lints]) fail the build and the
# tests reuse what it compiled, where a separate `cargo clippy` would check
# every crate again. Exported: a build without the wrapper is another build.
clippy_driver="$(command -v clippy-driver)" || { echo "clippy is required: rustup component add clippy" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# A clean build (CI) gains nothing from incremental state, and writing it
# costs time.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
cargo build --workspace --all-targets --all-features --locked
# The machine's cargo-nextest, or one from crates.io.
command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
wait "$python_tools" || { cat "$python_log" >&2; echo "template lint, Python tools or axe-core failed" >&2; exit 1; }
cat "$python_log"

# Bounded fuzzing in the test command; see README for the long run.
export PROPTEST_CASES="${PROPTEST_CASES:-2000}"
# nextest runs the test binaries side by side (.config/nextest.toml), where
# cargo test runs them one after another. The workspace has no doc tests.
bash scripts/with-moto.sh cargo nextest run --workspace --all-features --locked --no-fail-fast
# After the tests, whose build of smsctl it reuses.
bash scripts/schemathesis.sh
