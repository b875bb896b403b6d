//! `smsctl`: the operator tool. Applies and exports configuration, manages API
//! keys, reads the outbox and the message log, feeds voicemail events through
//! the trigger, and serves the APIs locally.

mod apply;
mod audit;
mod fail;
mod keys;
mod messages;
mod outbox;
mod output;
mod receipts;
mod secrets;
mod serve;
mod target;
mod trigger;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "smsctl", version, about = "SMS Notifications for hosted PBX: the operator tool")]
struct Cli {
    #[command(flatten)]
    target: target::Target,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies a whole configuration file, idempotently.
    Apply(apply::ApplyArgs),
    /// Prints the current configuration as JSON (never secrets).
    Export,
    /// Creates, lists, enables, disables, rotates and deletes API keys.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Lists the local outbox, or marks a destination opted out or in.
    Outbox(outbox::OutboxArgs),
    /// Lists the message log, newest first.
    Messages(messages::MessagesArgs),
    /// Lists the audit log of changes, newest first.
    Audit(audit::AuditArgs),
    /// Applies the local outbox's delivery receipts to the message log.
    Receipts(receipts::ReceiptsArgs),
    /// Serves both APIs locally, routed like API Gateway.
    Serve(serve::ServeArgs),
    /// Feeds voicemail event files (S3, SQS, EventBridge) through the trigger.
    Trigger(trigger::TriggerArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    shared::startup::init_tracing();
    let target = &cli.target;
    let result = match cli.command {
        Command::Apply(args) => apply::apply(target, args).await,
        Command::Export => apply::export(target).await,
        Command::Keys { command } => keys::run(target, command).await,
        Command::Outbox(args) => outbox::run(target, args).await,
        Command::Messages(args) => messages::run(target, args).await,
        Command::Audit(args) => audit::run(target, args).await,
        Command::Receipts(args) => receipts::run(target, args).await,
        Command::Serve(args) => serve::run(target, args).await,
        Command::Trigger(args) => trigger::run(target, args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            eprintln!("error: {}", fail.message);
            ExitCode::from(fail.code)
        }
    }
}
