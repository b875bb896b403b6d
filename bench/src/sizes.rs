//! The deployed bootstraps: `cargo lambda build --release --arm64
//! --output-format zip` (default features: DynamoDB and SNS, no SQLite),
//! each binary's size and its zip's, which is what Lambda receives.

use std::path::Path;

/// The target for each zip: 4 MB (decimal, as the sizes are printed).
const TARGET_ZIPPED: u64 = 4_000_000;

/// `target` is the workspace's target directory.
pub fn print(target: &Path, functions: &[&str]) {
    println!("\n## Bootstrap sizes (cargo lambda build --release --arm64 --output-format zip)\n");
    println!("| function | bootstrap | zipped | at most 4 MB zipped |");
    println!("|---|---:|---:|---|");
    for function in functions {
        let binary = size(&target.join("aarch64-unknown-linux-gnu/release").join(function));
        let zip = size(&target.join("lambda").join(function).join("bootstrap.zip"));
        match (binary, zip) {
            (Some(b), Some(z)) => println!(
                "| {function} | {} | {} | {} |",
                mb(b),
                mb(z),
                if z <= TARGET_ZIPPED { "yes" } else { "**no**" }
            ),
            _ => println!("| {function} | not built | not built | (bash scripts/bench.sh builds it) |"),
        }
    }
}

fn size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB ({bytes} bytes)", bytes as f64 / 1e6)
}
