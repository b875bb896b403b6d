//! `receipts`: the local outbox's delivery receipts through the
//! delivery-status function, as CloudWatch Logs hands it SNS's: the message
//! log's entries move to `delivered` or `failed`. `smsctl serve` does this
//! every second.

use clap::Args;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use shared::adapters::outbox::OutboxGateway;
use shared::receipts::{log_group, subscription_event};
use shared::service::Service;

use crate::fail::{Fail, Result};
use crate::output::say;
use crate::target::Target;

#[derive(Args)]
pub struct ReceiptsArgs {}

pub async fn run(target: &Target, _: ReceiptsArgs) -> Result {
    let local = target.local("receipts")?;
    let service = local.settings.service::<shared::startup::needs::StoreOnly>().await?;
    let outbox = OutboxGateway::open(&local.outbox, false)?;
    for answer in deliver(&service, &outbox, usize::MAX).await? {
        say!("{answer}");
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
/// subscription event per log group (successes, failures) and chunk; the
/// function's answers. What failed stays pending: a receipt applied twice
/// is dropped as a repeat.
pub async fn deliver(service: &Service, outbox: &OutboxGateway, chunks: usize) -> Result<Vec<Value>> {
    let mut answers = Vec::new();
    for _ in 0..chunks {
        let pending = outbox.receipts(CHUNK).await?;
        let count = pending.delivered.len() + pending.failed.len();
        if count == 0 {
            return Ok(answers);
        }
        deliver_chunk(service, pending.delivered, pending.failed, &mut answers).await?;
        outbox.ack_receipts(pending.up_to).await?;
        if count < CHUNK {
            break;
        }
    }
    Ok(answers)
}

async fn deliver_chunk(service: &Service, delivered: Vec<String>, failed: Vec<String>, answers: &mut Vec<Value>) -> Result {
    let group = log_group("local", "000000000000");
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    for (group, lines) in [(group.clone(), delivered), (format!("{group}/Failure"), failed)] {
        if lines.is_empty() {
            continue;
        }
        let event = LambdaEvent::new(subscription_event(&group, &lines, now), Context::default());
        let answer = delivery_status::handler::handle(service, event)
            .await
            .map_err(|e| Fail::new(format!("delivery receipts: {e}")))?;
        answers.push(answer);
    }
    Ok(())
}
