//! Cold init: from a process's spawn to its first request for an event on
//! the Runtime API stand-in, which is Lambda's init phase. Each binary next
//! to hello-world, on each setting, median of N runs.

use std::time::Duration;

use crate::fixture::{Fixture, HELLO, Setting};
use crate::stats::{median, ms, ratio};

/// Init times by binary (rows) and setting (columns), interleaved run by
/// run so that a busy moment of the shared machine hits every cell alike.
pub fn measure(f: &Fixture, binaries: &[&str], settings: &[(&str, Setting)], runs: usize) -> Vec<Vec<Vec<Duration>>> {
    let mut times = vec![vec![Vec::with_capacity(runs); settings.len()]; binaries.len()];
    for _ in 0..runs {
        for (b, binary) in binaries.iter().enumerate() {
            for (s, (_, setting)) in settings.iter().enumerate() {
                let mut lambda = f.spawn(binary, setting);
                times[b][s].push(lambda.init_time());
            }
        }
    }
    times
}

/// The table: each setting's median init, and its multiple of hello's on
/// the same setting (hello reads no setting; it is measured alongside).
pub fn print(binaries: &[&str], settings: &[(&str, Setting)], times: &[Vec<Vec<Duration>>], runs: usize) {
    let hello = binaries.iter().position(|b| *b == HELLO).expect("hello is measured");
    println!("\n## Cold init (spawn to first `GET /runtime/invocation/next`, median of {runs})\n");
    let head: Vec<String> = settings.iter().map(|(name, _)| format!("{name} | x hello")).collect();
    println!("| binary | {} |", head.join(" | "));
    println!("|---|{}", "---:|---:|".repeat(settings.len()));
    for (b, binary) in binaries.iter().enumerate() {
        let cells: Vec<String> = (0..settings.len())
            .map(|s| {
                let m = median(&times[b][s]);
                format!("{} | {}", ms(m), ratio(m, median(&times[hello][s])))
            })
            .collect();
        println!("| {binary} | {} |", cells.join(" | "));
    }
}
