//! Warm invocations: latency percentiles over many invocations of one
//! instance, and its peak resident memory afterwards.

use std::time::{Duration, Instant};

use crate::fixture::{Fixture, Setting, event, invoke};
use crate::stats::{ms, percentile};

pub struct Warm {
    pub samples: Vec<Duration>,
    /// VmHWM: the process's peak resident set, in KiB.
    pub peak_rss_kib: u64,
}

/// Starts `function` on `setting`, invokes it once (cold, not counted),
/// then `n` times, each a fresh event as [`event`] makes it.
pub fn measure(f: &Fixture, function: &str, setting: &Setting, n: usize) -> Warm {
    let mut lambda = f.spawn(function, setting);
    invoke(&mut lambda, &event(function));
    let samples = (0..n)
        .map(|_| {
            let event = event(function);
            let start = Instant::now();
            invoke(&mut lambda, &event);
            start.elapsed()
        })
        .collect();
    Warm { samples, peak_rss_kib: peak_rss_kib(lambda.pid()) }
}

/// VmHWM from /proc/<pid>/status.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// One table row: p50, p99, max, peak RSS.
pub fn row(function: &str, w: &Warm) -> String {
    let max = w.samples.iter().max().copied().unwrap_or_default();
    format!(
        "| {function} | {} | {} | {} | {:.1} MB |",
        ms(percentile(&w.samples, 50.0)),
        ms(percentile(&w.samples, 99.0)),
        ms(max),
        w.peak_rss_kib as f64 * 1024.0 / 1e6
    )
}

pub fn print(title: &str, rows: &[String]) {
    println!("\n## {title}\n");
    println!("| binary | p50 | p99 | max | peak RSS (VmHWM) |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!("{r}");
    }
}
