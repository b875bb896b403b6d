//! Delivery receipts: SNS's SMS delivery status logs, as CloudWatch Logs
//! subscription events (`awslogs.data`: Base64 of gzip of the log events),
//! into the message log. Nothing here is retried forever: a malformed event
//! or record, an unknown id, a repeated receipt are logged and dropped; only
//! a store failure fails the invocation, which Lambda retries twice.

use aws_lambda_events::cloudwatch_logs::{LogData, LogEntry};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Receipt;
use crate::domain::text::escape;
use crate::ports::Received;
use crate::service::{Error, Service};

/// `awslogs.data`: Base64 of gzip of the [`LogData`] JSON, decompressed
/// within [`MAX_LOG_DATA_BYTES`]. (aws_lambda_events decodes it while it
/// deserializes, with no bound.)
fn decode(event: &Value) -> Result<LogData, String> {
    use base64::Engine;
    use std::io::Read;
    let arrived = Arrived::deserialize(event).map_err(|e| e.to_string())?;
    let compressed =
        base64::engine::general_purpose::STANDARD.decode(&arrived.awslogs.data).map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    let gzip = flate2::read::GzDecoder::new(compressed.as_slice());
    gzip.take(MAX_LOG_DATA_BYTES + 1).read_to_end(&mut json).map_err(|e| format!("not gzip: {e}"))?;
    if json.len() as u64 > MAX_LOG_DATA_BYTES {
        return Err(format!("its data decompresses past {MAX_LOG_DATA_BYTES} bytes"));
    }
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

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

/// The most a subscription event's `awslogs.data` may decompress to. A
/// delivery carries at most one `PutLogEvents` batch (1 MiB of events);
/// past this bound the event is dropped and logged, not decompressed to
/// its end (a gzip bomb of 100 KB makes 100 MB).
pub const MAX_LOG_DATA_BYTES: u64 = 8 << 20;

/// The subscription event as it arrives: its data still encoded.
#[derive(Deserialize)]
struct Arrived {
    awslogs: Encoded,
}

/// Every receipt of a subscription event through the service.
pub async fn process(service: &Service, event: &Value) -> Result<Report, Error> {
    let mut report = Report::default();
    let data = match decode(event) {
        Ok(data) => data,
        Err(why) => {
            tracing::warn!(reason = %why, "not a CloudWatch Logs subscription event; dropped");
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
