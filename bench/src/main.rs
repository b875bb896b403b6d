//! The benchmark: one run prints every figure of docs/benchmarks.md, each
//! measured side by side on this machine. `bash scripts/bench.sh` builds
//! what it measures (the release binaries, the arm64 bootstraps) and runs
//! this under scripts/with-moto.sh.

mod cold;
mod console;
mod first;
mod fixture;
mod requests;
mod sizes;
mod stats;
mod warm;

use std::path::PathBuf;

use clap::Parser;
use integration_tests::binaries::{FUNCTIONS, target_dir};
use integration_tests::events_config;

use crate::fixture::{Fixture, HELLO, Setting, moto_table, unlimited_config};

/// Cold init, first request over TLS, warm latency and peak memory,
/// requests per path, bootstrap sizes, the console's pages.
#[derive(Parser)]
struct Args {
    /// Cold starts per binary and setting (medians).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Cold starts per function and pre-warm choice over TLS.
    #[arg(long, default_value_t = 10)]
    tls_runs: usize,
    /// Warm invocations per binary on the embedded store (p50, p99, peak RSS).
    #[arg(long, default_value_t = 10_000)]
    warm: usize,
    /// Warm invocations per binary on DynamoDB + SNS (moto).
    #[arg(long, default_value_t = 300)]
    moto_warm: usize,
    /// Warm invocations counted per path after the cold one.
    #[arg(long, default_value_t = 5)]
    path_warm: usize,
    /// Requests per console page on `smsctl serve` (p50, p99, max).
    #[arg(long, default_value_t = 200)]
    console_requests: usize,
    /// Only the console's pages (no moto needed): the other figures are
    /// not measured.
    #[arg(long)]
    console_only: bool,
    /// Only these functions (comma-separated), beside hello-world: their
    /// sizes, cold init, first request and warm figures, without the
    /// requests per path and the console's pages, which need every binary.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The release binaries of the functions, of hello and of smsctl
    /// (target/release).
    #[arg(long)]
    bins: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let target = target_dir();
    let bins = args.bins.clone().unwrap_or_else(|| target.join("release"));
    // The functions run in their store's folder: the path must not be relative.
    let bins = bins.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", bins.display()));
    // One worker: the functions under test and moto need the other core.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio");
    if !args.console_only {
        functions(&args, &rt, &bins, &target);
    }
    if !args.only.is_empty() {
        return;
    }
    eprintln!("bench: console pages");
    console::print(&console::measure(&rt, &bins, args.console_requests), args.console_requests);
}

/// Everything measured on the function binaries.
fn functions(args: &Args, rt: &tokio::runtime::Runtime, bins: &std::path::Path, target: &std::path::Path) {
    let f = rt.block_on(Fixture::new(bins, &unlimited_config()));
    let moto = rt.block_on(moto_table(&unlimited_config()));
    let wire = rt.block_on(moto_table(&events_config()));
    let dir = std::env::temp_dir();
    let tls = rt.block_on(integration_tests::tls::start(moto.endpoint.trim_start_matches("http://"), &dir));

    let chosen = chosen(&args.only);
    sizes::print(target, &chosen);

    if args.only.is_empty() {
        eprintln!("bench: requests per path");
        requests::print(&requests::measure(&f, rt, &wire, args.path_warm), args.path_warm);
    }

    eprintln!("bench: cold init");
    let binaries: Vec<&str> = std::iter::once(HELLO).chain(chosen.iter().copied()).collect();
    let settings = [
        ("embedded", Setting::Embedded),
        ("DynamoDB, pre-warm on", Setting::on(&moto, true)),
        ("DynamoDB, pre-warm off", Setting::on(&moto, false)),
    ];
    let times = cold::measure(&f, &binaries, &settings, args.runs);
    cold::print(&binaries, &settings, &times, args.runs);

    eprintln!("bench: first request over TLS");
    first_requests(&f, &tls, &moto.table, args.tls_runs, &chosen);

    for (title, setting, n) in [
        (format!("Warm, embedded ({} invocations of one instance)", args.warm), Setting::Embedded, args.warm),
        (
            format!("Warm, DynamoDB + SNS on moto ({} invocations of one instance)", args.moto_warm),
            Setting::on(&moto, true),
            args.moto_warm,
        ),
    ] {
        eprintln!("bench: {title}");
        let rows: Vec<String> = binaries.iter().map(|b| warm::row(b, &warm::measure(&f, b, &setting, n))).collect();
        warm::print(&title, &rows);
    }
}

/// The functions `--only` names (every one when it names none).
fn chosen(only: &[String]) -> Vec<&'static str> {
    if let Some(unknown) = only.iter().find(|o| !FUNCTIONS.contains(&o.as_str())) {
        panic!("--only {unknown}: not a function; they are {}", FUNCTIONS.join(", "));
    }
    FUNCTIONS.iter().copied().filter(|f| only.is_empty() || only.iter().any(|o| o == f)).collect()
}

/// Each function's first request over TLS, with and without the pre-warm,
/// and a connection to an endpoint it does not trust.
fn first_requests(f: &Fixture, tls: &integration_tests::tls::TlsFront, table: &str, runs: usize, functions: &[&str]) {
    let untrusted = functions.contains(&"send-sms").then(|| first::untrusted(f, tls, table));
    let rows: Vec<_> = functions
        .iter()
        .flat_map(|function| [true, false].map(|prewarm| (function.to_string(), prewarm)))
        .map(|(function, prewarm)| {
            let r = first::measure(f, tls, table, &function, prewarm, runs);
            (function, prewarm, r)
        })
        .collect();
    first::print(&rows, untrusted.as_deref(), runs);
}
