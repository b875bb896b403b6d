//! The voicemail trigger: every voicemail (and transcription job's end) of
//! an invocation through the service, and the answer each platform needs.
//! Parsing lives in `events`. The scheduled sender answers the same way.

mod events;

use aws_lambda_events::sqs::SqsBatchResponse;
use serde::Serialize;
use serde_json::Value;

use crate::domain::text::escape;
use crate::service::{Error, Outcome, Service};
pub use events::{Announced, DEFAULT_SUFFIXES, Invocation, Item, KeyLayout, decode_key};

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
    /// Voicemails waiting for their transcript.
    pub transcribing: usize,
    /// Voicemails held by quiet hours.
    pub held: usize,
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
    #[serde(skip_serializing_if = "is_zero")]
    pub transcribing: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub held: usize,
    /// The scheduled sender's failures (still due: its next run retries).
    #[serde(skip_serializing_if = "is_zero")]
    pub failed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
        Ok(Answer::Direct(self.summary()))
    }

    fn summary(&self) -> Summary {
        let (sent, skipped, duplicates, failed) = (self.sent, self.skipped, self.duplicates, self.failed);
        Summary { sent, skipped, duplicates, transcribing: self.transcribing, held: self.held, failed }
    }
}

/// The scheduled sender's run: every voicemail whose wait is over, sent;
/// what failed stays due, for the next run. Fails whole only when the
/// store cannot say what is due.
pub async fn send_due(service: &Service, deadline: Option<u64>) -> Result<Summary, Error> {
    let mut report = Report::default();
    for (message_id, outcome) in service.send_due(deadline).await? {
        log(&outcome, &message_id);
        report.count(outcome);
    }
    Ok(report.summary())
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
            Ok(Outcome::Transcribing) => self.transcribing += 1,
            Ok(Outcome::Held { .. }) => self.held += 1,
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
            Ok(Announced::Voicemail(vm)) => {
                let identity = escape(&vm.identity);
                let outcome = service.voicemail(vm, deadline).await;
                log(&outcome, &identity);
                outcome
            }
            Ok(Announced::JobEnded { job, news }) => {
                let outcome = service.transcribed(&job, news, deadline).await;
                log(&outcome, &escape(&job));
                outcome
            }
        };
        out.push(outcome);
    }
    out
}

/// One voicemail's outcome, in the log; `voicemail` names it (its
/// identity, its transcription job).
fn log(outcome: &Result<Outcome, Error>, voicemail: &str) {
    match outcome {
        Ok(Outcome::Sent(s)) => tracing::info!(voicemail, id = %s.id, "voicemail SMS sent"),
        Ok(Outcome::Skipped(reason)) => tracing::info!(voicemail, reason = %escape(reason), "voicemail skipped"),
        Ok(Outcome::Duplicate) => tracing::info!(voicemail, "voicemail already handled"),
        Ok(Outcome::Transcribing) => tracing::info!(voicemail, "voicemail waits for its transcript"),
        Ok(Outcome::Held { due }) => tracing::info!(voicemail, due, "voicemail SMS held by quiet hours"),
        Ok(Outcome::InFlight { lease_until }) => {
            tracing::warn!(voicemail, lease_until, "voicemail held by another delivery; will be retried");
        }
        Err(e) => {
            let cause = e.cause().unwrap_or("");
            tracing::error!(voicemail, error = %e, cause, "voicemail SMS failed; will be retried");
        }
    }
}
