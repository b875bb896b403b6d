//! `receipts`: the local outbox's delivery receipts through the delivery
//! receipts' code, as CloudWatch Logs hands SNS's to the delivery-status
//! function: the message log's entries move to `delivered` or `failed`.
//! `smsctl serve` does this every second.

use clap::Args;
use shared::adapters::outbox::OutboxGateway;
use shared::inbound::receipts::{Report, log_group, process, subscription_event};
use shared::ports::Clock as _;
use shared::service::Service;
use shared::startup::needs;

use crate::fail::{Fail, Result};
use crate::output::say;
use crate::target::Target;

#[derive(Args)]
pub struct ReceiptsArgs {}

pub async fn run(target: &Target, _: ReceiptsArgs) -> Result {
    let settings = target.local("receipts")?;
    let service = settings.service::<needs::StoreOnly>().await?;
    let outbox = settings.outbox()?;
    for report in deliver(&service, &outbox, usize::MAX).await? {
        say!("{}", serde_json::to_string(&report).unwrap_or_default());
    }
    Ok(())
}

/// Receipts per subscription event: CloudWatch Logs batches them too, and
/// `serve`'s store calls stay short (a backlog left by a burst of sends is
/// read, applied and acknowledged a chunk at a time, not in one go). Under
/// load the receipts of the second before compete with the sends: chunks
/// of 100 brought `serve`'s p99 at 16 connections from 6.4-6.7 ms to
/// 5.1-6.5 ms (docs/benchmarks.md); 1,000 made longer bursts, 25 more
/// overhead.
const CHUNK: usize = 100;

/// Hands out the pending receipts, at most `chunks` chunks of them, one
/// subscription event per log group (successes, failures) and chunk; what
/// each did. What failed stays pending: a receipt applied twice is dropped
/// as a repeat.
pub async fn deliver(service: &Service, outbox: &OutboxGateway, chunks: usize) -> Result<Vec<Report>> {
    let mut reports = Vec::new();
    for _ in 0..chunks {
        let pending = outbox.receipts(CHUNK).await?;
        let count = pending.delivered.len() + pending.failed.len();
        if count == 0 {
            return Ok(reports);
        }
        deliver_chunk(service, pending.delivered, pending.failed, &mut reports).await?;
        outbox.ack_receipts(pending.up_to).await?;
        if count < CHUNK {
            break;
        }
    }
    Ok(reports)
}

async fn deliver_chunk(
    service: &Service,
    delivered: Vec<String>,
    failed: Vec<String>,
    reports: &mut Vec<Report>,
) -> Result {
    let group = log_group("local", "000000000000");
    let now_ms = shared::adapters::clock::SystemClock.now_ms();
    for (group, lines) in [(group.clone(), delivered), (format!("{group}/Failure"), failed)] {
        if lines.is_empty() {
            continue;
        }
        let event = serde_json::to_value(subscription_event(&group, &lines, now_ms))
            .map_err(|e| Fail::new(format!("delivery receipts: {e}")))?;
        let report = process(service, &event).await.map_err(|e| Fail::new(format!("delivery receipts: {e}")))?;
        reports.push(report);
    }
    Ok(())
}
