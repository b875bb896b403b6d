//! `trigger`: voicemail event files through the voicemail trigger, as its
//! function runs them, with the configured store and SMS gateway.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;
use shared::inbound::trigger::{Answer, KeyLayout, process};
use shared::service::Service;
use shared::startup::needs;

use crate::fail::{Fail, Result};
use crate::output::say;
use crate::target::Target;

#[derive(Args)]
pub struct TriggerArgs {
    /// Event files (JSON): S3 notifications, SQS batches of them, EventBridge
    /// `Object Created` or `New Voicemail` events.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub async fn run(target: &Target, args: TriggerArgs) -> Result {
    let settings = target.settings()?;
    let service = settings.service::<needs::SmsAndDetails>().await?;
    let mut failed = 0;
    for file in &args.files {
        match feed(&service, &settings.layout, file).await {
            Ok(answer) => say!("{}", serde_json::to_string(&answer).unwrap_or_default()),
            Err(message) => {
                eprintln!("error: {}: {message}", file.display());
                failed += 1;
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(Fail::new(format!("{n} of {} event file(s) failed", args.files.len()))),
    }
}

/// The function's answer, or why it failed.
async fn feed(service: &Service, layout: &KeyLayout, file: &Path) -> std::result::Result<Answer, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let event: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    invoke(service, layout, &event).await
}

/// One invocation, as the function runs it (no deadline: a local run has
/// none): its answer, or the error Lambda would retry on.
pub async fn invoke(service: &Service, layout: &KeyLayout, event: &Value) -> std::result::Result<Answer, String> {
    process(service, layout, event, None).await.into_response().map_err(|e| e.to_string())
}
