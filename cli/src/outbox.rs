//! `outbox`: the SMS the embedded backend "sent", and the destinations that
//! opted out (which a real provider would refuse).

use clap::{Args, Subcommand};
use shared::domain::E164;

use crate::fail::Result;
use crate::output::{self, say};
use crate::target::Target;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OutboxArgs {
    #[command(subcommand)]
    command: Option<OutboxCommand>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Marks a destination as opted out: SMS to it are refused.
    OptOut {
        #[arg(value_parser = e164)]
        number: E164,
    },
    /// Lets a destination receive SMS again.
    OptIn {
        #[arg(value_parser = e164)]
        number: E164,
    },
}

pub async fn run(target: &Target, args: OutboxArgs) -> Result {
    let outbox = target.local("outbox")?.outbox()?;
    match args.command {
        Some(OutboxCommand::OptOut { number }) => {
            outbox.set_opted_out(&number, true).await?;
            say!("{number} opted out: SMS to it are refused");
        }
        Some(OutboxCommand::OptIn { number }) => {
            outbox.set_opted_out(&number, false).await?;
            say!("{number} opted in");
        }
        None => {
            let entries = outbox.list(args.limit).await?;
            if args.json {
                return output::json(&entries);
            }
            let rows: Vec<Vec<String>> = entries
                .into_iter()
                .map(|e| {
                    vec![
                        e.at,
                        e.tenant,
                        e.kind,
                        e.from,
                        e.to,
                        e.encoding,
                        e.segments.to_string(),
                        shared::domain::text::escape(&e.text),
                    ]
                })
                .collect();
            output::table(
                &["AT", "TENANT", "KIND", "FROM", "TO", "ENCODING", "SEGMENTS", "TEXT"],
                &rows,
                "the outbox is empty",
            );
        }
    }
    Ok(())
}

fn e164(s: &str) -> std::result::Result<E164, String> {
    E164::parse(s).ok_or_else(|| format!("expected {}", E164::EXPECTED))
}
