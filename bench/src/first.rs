//! The first request over TLS, with the connections opened in init
//! (`AWS_PREWARM=true`) and without: where the TLS handshakes happen (the
//! proxy counts them) and what the first invocation costs.

use std::time::{Duration, Instant};

use integration_tests::binaries::Lambda;

use crate::fixture::{Fixture, Setting, event, invoke};
use crate::stats::{median, ms};
use integration_tests::tls::TlsFront;

/// Medians over the runs of one function and pre-warm choice.
pub struct First {
    pub init: Duration,
    pub first: Duration,
    pub second: Duration,
    /// Handshakes during init and during the first invocation (last run).
    pub handshakes: (usize, usize),
}

/// `runs` cold starts of `function` on moto behind `tls`, the CA trusted.
pub fn measure(f: &Fixture, tls: &TlsFront, table: &str, function: &str, prewarm: bool, runs: usize) -> First {
    let setting = Setting::Dynamo {
        endpoint: tls.endpoint.clone(),
        table: table.to_owned(),
        prewarm,
        ca_file: Some(tls.ca_file.clone()),
    };
    let (mut init, mut first, mut second) = (Vec::new(), Vec::new(), Vec::new());
    let mut handshakes = (0, 0);
    for _ in 0..runs {
        let before = tls.handshakes();
        let mut lambda = f.spawn(function, &setting);
        init.push(lambda.init_time());
        let in_init = tls.handshakes() - before;
        first.push(timed(&mut lambda, function));
        handshakes = (in_init, tls.handshakes() - before - in_init);
        second.push(timed(&mut lambda, function));
        assert!(!lambda.output().contains("pre-warm failed"), "{function}: {}", lambda.output());
    }
    First { init: median(&init), first: median(&first), second: median(&second), handshakes }
}

fn timed(lambda: &mut Lambda, function: &str) -> Duration {
    let event = event(function);
    let start = Instant::now();
    invoke(lambda, &event);
    start.elapsed()
}

/// Without `AWS_CA_BUNDLE` the same endpoint must fail: proof that the CA
/// reached the SDK through that variable. Answers the error it logged.
pub fn untrusted(f: &Fixture, tls: &TlsFront, table: &str) -> String {
    let setting =
        Setting::Dynamo { endpoint: tls.endpoint.clone(), table: table.to_owned(), prewarm: true, ca_file: None };
    let mut lambda = f.spawn("send-sms", &setting);
    lambda.init_time();
    let log = lambda.output();
    let failures: Vec<&str> = log.lines().filter(|l| l.contains("pre-warm failed")).collect();
    let why = ["UnknownIssuer", "invalid peer certificate", "certificate"]
        .into_iter()
        .find(|w| failures.iter().any(|l| l.contains(w)));
    match why {
        Some(w) => format!("refused ({w})"),
        None => format!("NOT refused: {failures:?}"),
    }
}

/// `untrusted` is what [`untrusted`] found, when send-sms was measured.
pub fn print(rows: &[(String, bool, First)], untrusted: Option<&str>, runs: usize) {
    println!("\n## First request over TLS (moto behind a TLS proxy, test CA in AWS_CA_BUNDLE; median of {runs})\n");
    if let Some(untrusted) = untrusted {
        println!("Without AWS_CA_BUNDLE, send-sms's pre-warm handshake was {untrusted}.\n");
    }
    println!(
        "| function | AWS_PREWARM | init | first invocation | second invocation | handshakes in init | handshakes in first invocation |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (function, prewarm, r) in rows {
        println!(
            "| {function} | {prewarm} | {} | {} | {} | {} | {} |",
            ms(r.init),
            ms(r.first),
            ms(r.second),
            r.handshakes.0,
            r.handshakes.1
        );
    }
}
