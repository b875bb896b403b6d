//! Delivery receipts: SNS's SMS delivery status logs, as CloudWatch Logs
//! subscription events (`awslogs.data`: Base64 of gzip of the log events),
//! into the message log. Nothing here is retried forever: a malformed event
//! or record, an unknown id, a repeated receipt are logged and dropped; only
//! a store failure fails the invocation, which Lambda retries twice.

use aws_lambda_events::cloudwatch_logs::{LogData, LogEntry, LogsEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Receipt;
use crate::domain::text::escape;
use crate::ports::Received;
use crate::service::{Error, Service};

/// The log group SNS writes successful deliveries to; failures go to the
/// same name with `/Failure`.
pub fn log_group(region: &str, account: &str) -> String {
    format!("sns/{region}/{account}/DirectPublishToPhoneNumber")
}

/// What one invocation did with its receipts.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub applied: usize,
    pub unknown: usize,
    pub repeated: usize,
    pub malformed: usize,
}

/// Every receipt of a subscription event through the service.
pub async fn process(service: &Service, event: &Value) -> Result<Report, Error> {
    let mut report = Report::default();
    let data = match LogsEvent::deserialize(event) {
        Ok(e) => e.aws_logs.data,
        Err(e) => {
            tracing::warn!(error = %e, "not a CloudWatch Logs subscription event; dropped");
            report.malformed += 1;
            return Ok(report);
        }
    };
    // CloudWatch Logs checks a destination with a control message.
    if data.message_type != "DATA_MESSAGE" {
        return Ok(report);
    }
    for entry in &data.log_events {
        let receipt = match Receipt::parse(&entry.message) {
            Ok(r) => r,
            Err(why) => {
                tracing::warn!(log_group = %escape(&data.log_group), reason = %why, "delivery receipt dropped");
                report.malformed += 1;
                continue;
            }
        };
        match service.receipt(&receipt).await? {
            Received::Applied(m) => {
                let (message_id, tenant, status) = (&m.id, &m.tenant, m.status.as_str());
                tracing::info!(%message_id, %tenant, status, "delivery receipt applied");
                report.applied += 1;
            }
            Received::Unknown => {
                tracing::warn!(provider_id = %receipt.provider_id, "delivery receipt for no message we know; dropped");
                report.unknown += 1;
            }
            Received::Repeated => {
                tracing::info!(provider_id = %receipt.provider_id, "delivery receipt already applied; dropped");
                report.repeated += 1;
            }
        }
    }
    Ok(report)
}

/// A subscription event as CloudWatch Logs sends it: `awslogs.data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub awslogs: Encoded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Encoded {
    /// Base64, padded, of gzip of the [`LogData`] JSON.
    pub data: String,
}

/// A subscription event carrying these log lines, as CloudWatch Logs sends
/// it: what the local outbox's receipts go through, and the tests'. Encoded
/// here: aws_lambda_events encodes `AwsLogs` without Base64 padding, which
/// its own decoder then refuses.
pub fn subscription_event(log_group: &str, lines: &[String], timestamp_ms: i64) -> Subscription {
    use base64::Engine;
    use std::io::Write;
    let mut data = LogData::default();
    data.message_type = "DATA_MESSAGE".to_owned();
    data.owner = "000000000000".to_owned();
    data.log_group = log_group.to_owned();
    data.log_stream = "local".to_owned();
    data.subscription_filters = vec!["delivery-status".to_owned()];
    data.log_events = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut entry = LogEntry::default();
            entry.id = format!("{timestamp_ms}{i:06}");
            entry.timestamp = timestamp_ms;
            entry.message = line.clone();
            entry
        })
        .collect();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to memory cannot fail, nor can serializing these strings.
    let _ = serde_json::to_writer(&mut gzip, &data);
    let _ = gzip.flush();
    let compressed = gzip.finish().unwrap_or_default();
    Subscription { awslogs: Encoded { data: base64::engine::general_purpose::STANDARD.encode(compressed) } }
}
