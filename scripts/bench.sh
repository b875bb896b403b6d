#!/usr/bin/env bash
# The benchmark (docs/benchmarks.md): builds what it measures, then prints
# every figure in one run (the console's pages on `smsctl serve` after the
# functions' figures), the local server last (scripts/bench-serve.sh).
# `target/release/bench --console-only` measures the console's pages alone,
# `--only scheduled-sender,console` those functions alone.
# Slow (release builds with LTO, tens of thousands of invocations): not part
# of the test command. Options go to the bench
# binary, e.g. `bash scripts/bench.sh --runs 20 --warm 10000`
# (`target/release/bench --help` lists them). Needs cargo-lambda (with zig)
# on PATH, as `sam build` does (docs/deploy.md).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

if ! command -v cargo-lambda >/dev/null; then
    echo "cargo-lambda is not on PATH: pip install cargo-lambda (docs/deploy.md)" >&2
    exit 1
fi

functions=(send-sms voicemail-notify voicemail-trigger delivery-status recording-link console scheduled-sender)
packages=()
embedded=()
for f in "${functions[@]}"; do
    packages+=(-p "$f")
    embedded+=("$f/embedded")
done

# The functions with both backends (one binary runs on the embedded and on
# the DynamoDB settings), hello-world and the bench itself: the release
# profile (LTO, one codegen unit, strip).
nice cargo build --release --locked -p bench "${packages[@]}" --features "$(IFS=,; echo "${embedded[*]}")"

# The deployed build: arm64, default features (DynamoDB + SNS, no SQLite),
# zipped as Lambda receives it.
nice cargo lambda build --release --arm64 --output-format zip "${packages[@]}"
# smsctl for the local server, built now with the rest rather than just
# before its measurement.
nice cargo build --release --locked -p smsctl

echo "# Benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
echo "toolchain: $(rustc --version), $(cargo lambda --version)"
bash scripts/with-moto.sh "$target/release/bench" --bins "$target/release" "$@"

echo
echo "## Local server (smsctl serve, embedded store)"
SMSCTL="$target/release/smsctl" bash scripts/bench-serve.sh
