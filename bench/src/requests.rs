//! Requests per path: each path through its deployed-style function binary
//! (DynamoDB settings, pre-warm on) on a fresh instance, counted on the wire
//! from moto's request recorder: the first invocation (cold) and the next
//! ones (warm). Pre-warm requests happen in init, before the first mark.

use std::cell::Cell;

use integration_tests::moto::{Moto, Requests};
use integration_tests::repo_path;
use integration_tests::runtime_api::Outcome;
use tokio::runtime::Runtime;

use crate::fixture::{Fixture, Setting, new_voicemail};

/// The sample configuration's destination: SNS requests are counted for it.
const DESTINATION: &str = "+14165551234";

pub struct PathCost {
    pub path: &'static str,
    pub cold: Requests,
    pub warm: Vec<Requests>,
}

type Events = Box<dyn Fn() -> Vec<u8>>;

fn file(name: &'static str) -> Events {
    Box::new(move || std::fs::read(repo_path(&format!("events/{name}"))).expect("a sample event"))
}

/// The paths of docs/aws.md's table that events/ covers, on the moto table
/// `moto` holds (events/config.json as it is: the default rate limits).
pub fn measure(f: &Fixture, rt: &Runtime, moto: &Moto, warm: usize) -> Vec<PathCost> {
    // The first new voicemail is the one redelivered afterwards.
    let voicemail = new_voicemail();
    let first = Cell::new(Some(voicemail.clone()));
    let paths: Vec<(&'static str, &str, Events)> = vec![
        ("action API send (`action-api-get.json`)", "send-sms", file("action-api-get.json")),
        ("REST send, tenant from the key (`rest-send.json`)", "send-sms", file("rest-send.json")),
        ("REST voicemail notify (`rest-voicemail.json`)", "voicemail-notify", file("rest-voicemail.json")),
        (
            "voicemail trigger, a new voicemail each (S3)",
            "voicemail-trigger",
            Box::new(move || first.take().unwrap_or_else(new_voicemail)),
        ),
        ("voicemail trigger, redelivered", "voicemail-trigger", Box::new(move || voicemail.clone())),
        (
            "`pbxware.sms.reports.list` (`action-api-reports-list.json`)",
            "send-sms",
            file("action-api-reports-list.json"),
        ),
        (
            "delivery receipt (`cloudwatch-logs-sms-delivery.json`)",
            "delivery-status",
            file("cloudwatch-logs-sms-delivery.json"),
        ),
        ("recording link (`recording-link.json`)", "recording-link", file("recording-link.json")),
    ];
    paths.into_iter().map(|(path, function, events)| cost(f, rt, moto, path, function, &events, warm)).collect()
}

fn cost(
    f: &Fixture,
    rt: &Runtime,
    moto: &Moto,
    path: &'static str,
    function: &str,
    events: &Events,
    warm: usize,
) -> PathCost {
    let mut lambda = f.spawn(function, &Setting::on(moto, true));
    lambda.init_time();
    let mut once = || {
        rt.block_on(moto.mark());
        let outcome = lambda.invoke(&events());
        assert!(matches!(outcome, Outcome::Response { .. }), "{path}: {}\n{}", outcome.describe(), lambda.output());
        rt.block_on(moto.requests_since_mark(&[DESTINATION]))
    };
    let cold = once();
    PathCost { path, cold, warm: (0..warm).map(|_| once()).collect() }
}

/// "3: BatchGetItem 1, TransactWriteItems 1, UpdateItem 1"
fn cell(counts: &std::collections::BTreeMap<String, usize>) -> String {
    let total: usize = counts.values().sum();
    let ops: Vec<String> = counts.iter().map(|(op, n)| format!("{op} {n}")).collect();
    if ops.is_empty() { "0".to_owned() } else { format!("**{total}**: {}", ops.join(", ")) }
}

/// Warm invocations: each one's total, then what they sent in all.
fn warm_cell(warm: &[Requests], part: impl Fn(&Requests) -> &std::collections::BTreeMap<String, usize>) -> String {
    let totals: Vec<String> = warm.iter().map(|r| part(r).values().sum::<usize>().to_string()).collect();
    let mut all = std::collections::BTreeMap::new();
    for r in warm {
        for (op, n) in part(r) {
            *all.entry(op.clone()).or_insert(0) += n;
        }
    }
    let ops: Vec<String> = all.iter().map(|(op, n)| format!("{op} {n}")).collect();
    format!("{} ({})", totals.join(", "), if ops.is_empty() { "none".to_owned() } else { ops.join(", ") })
}

pub fn print(costs: &[PathCost], warm: usize) {
    println!(
        "\n## Requests per path (moto's request recorder; cold: an instance's first invocation; warm: the next {warm}, each)\n"
    );
    println!("| path | DynamoDB cold | DynamoDB warm | SNS cold | SNS warm |");
    println!("|---|---|---|---|---|");
    for c in costs {
        println!(
            "| {} | {} | {} | {} | {} |",
            c.path,
            cell(&c.cold.dynamodb),
            warm_cell(&c.warm, |r| &r.dynamodb),
            cell(&c.cold.sns),
            warm_cell(&c.warm, |r| &r.sns)
        );
    }
}
