//! The voicemail trigger: every voicemail of an invocation through the
//! service, and the answer each platform needs. Parsing lives in `events`.

mod events;

use aws_lambda_events::sqs::SqsBatchResponse;
use serde::Serialize;
use serde_json::Value;

use crate::domain::text::escape;
use crate::service::{Error, Outcome, Service};
pub use events::{DEFAULT_SUFFIXES, Invocation, Item, KeyLayout, decode_key};

/// A direct invocation's failure: Lambda retries the event, and what was
/// already sent is not sent again.
#[derive(Debug, thiserror::Error)]
#[error("{0} voicemail(s) could not be sent and will be retried")]
pub struct RetryLater(pub usize);

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub skipped: usize,
    pub duplicates: usize,
    /// Voicemails whose send failed and must be retried.
    pub failed: usize,
    /// SQS message ids to report as batch item failures.
    pub failed_messages: Vec<String>,
    sqs: bool,
}

/// What a direct invocation answers: its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub sent: usize,
    pub skipped: usize,
    pub duplicates: usize,
}

/// The function's answer, by the invocation's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// An SQS batch: the messages to deliver again.
    Batch(SqsBatchResponse),
    Direct(Summary),
}

impl Report {
    /// The function's answer: SQS batches report their failures by message
    /// id; a direct invocation fails whole (`Err`) so that Lambda retries it.
    pub fn into_response(self) -> Result<Answer, RetryLater> {
        if self.sqs {
            let mut batch = SqsBatchResponse::default();
            for id in self.failed_messages {
                batch.add_failure(id);
            }
            return Ok(Answer::Batch(batch));
        }
        if self.failed > 0 {
            return Err(RetryLater(self.failed));
        }
        Ok(Answer::Direct(Summary { sent: self.sent, skipped: self.skipped, duplicates: self.duplicates }))
    }
}

/// Runs every voicemail of an event through the service, within the
/// invocation's deadline (epoch milliseconds). Messages of an SQS batch are
/// handled concurrently; one message's failure fails only it.
pub async fn process(service: &Service, layout: &KeyLayout, event: &Value, deadline: Option<u64>) -> Report {
    let mut report = Report::default();
    match layout.parse(event) {
        Invocation::Direct(items) => {
            for outcome in run_items(service, items, deadline).await {
                report.count(outcome);
            }
        }
        Invocation::Sqs(messages) => {
            report.sqs = true;
            let runs =
                messages.into_iter().map(|(id, items)| async move { (id, run_items(service, items, deadline).await) });
            for (id, outcomes) in futures_util::future::join_all(runs).await {
                let failed_before = report.failed;
                for outcome in outcomes {
                    report.count(outcome);
                }
                if report.failed > failed_before {
                    report.failed_messages.push(id);
                }
            }
        }
    }
    report
}

impl Report {
    fn count(&mut self, outcome: Result<Outcome, Error>) {
        match outcome {
            Ok(Outcome::Sent(_)) => self.sent += 1,
            Ok(Outcome::Skipped(_)) => self.skipped += 1,
            Ok(Outcome::Duplicate) => self.duplicates += 1,
            Ok(Outcome::InFlight { .. }) | Err(_) => self.failed += 1,
        }
    }
}

async fn run_items(service: &Service, items: Vec<Item>, deadline: Option<u64>) -> Vec<Result<Outcome, Error>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let outcome = match item {
            Err(reason) => {
                tracing::info!(reason = %escape(&reason), "skipped: not a voicemail");
                Ok(Outcome::Skipped(reason))
            }
            Ok(vm) => {
                let identity = escape(&vm.identity);
                let outcome = service.voicemail(vm, deadline).await;
                match &outcome {
                    Ok(Outcome::Sent(s)) => tracing::info!(voicemail = %identity, id = %s.id, "voicemail SMS sent"),
                    Ok(Outcome::Skipped(reason)) => {
                        tracing::info!(voicemail = %identity, reason = %escape(reason), "voicemail skipped");
                    }
                    Ok(Outcome::Duplicate) => tracing::info!(voicemail = %identity, "voicemail already handled"),
                    Ok(Outcome::InFlight { lease_until }) => {
                        let why = "voicemail held by another delivery; will be retried";
                        tracing::warn!(voicemail = %identity, lease_until, "{why}");
                    }
                    Err(e) => {
                        let cause = e.cause().unwrap_or("");
                        let why = "voicemail SMS failed; will be retried";
                        tracing::error!(voicemail = %identity, error = %e, cause, "{why}");
                    }
                }
                outcome
            }
        };
        out.push(outcome);
    }
    out
}
