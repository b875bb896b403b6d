//! `messages`: the message log, newest first.

use clap::Args;
use shared::domain::{DeliveryReceipt, TenantId};
use shared::ports::Clock as _;

use crate::fail::Result;
use crate::output;
use crate::target::Target;

#[derive(Args)]
pub struct MessagesArgs {
    /// Only this tenant's messages.
    #[arg(long, value_parser = tenant_id)]
    tenant: Option<TenantId>,
    /// At most this many.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(target: &Target, args: MessagesArgs) -> Result {
    let admin = target.admin(false).await?;
    let now = shared::adapters::clock::SystemClock.now();
    let records: Vec<_> =
        admin.messages(args.tenant.as_ref(), args.limit).await?.into_iter().map(|m| m.as_of(now)).collect();
    if args.json {
        return output::json(&records);
    }
    let rows: Vec<Vec<String>> = records
        .into_iter()
        .map(|m| {
            vec![
                output::time(m.at),
                m.tenant.to_string(),
                m.kind.as_str().to_owned(),
                m.status.as_str().to_owned(),
                m.from,
                m.to,
                m.segments.to_string(),
                m.attempts.to_string(),
                m.id,
                m.receipt.as_ref().map(receipt).unwrap_or_default(),
                m.due.map(output::time).unwrap_or_default(),
                m.digest.unwrap_or_default(),
                shared::domain::text::escape(m.error.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    output::table(
        &[
            "AT", "TENANT", "KIND", "STATUS", "FROM", "TO", "SEGMENTS", "ATTEMPTS", "ID", "RECEIPT", "DUE", "DIGEST",
            "ERROR",
        ],
        &rows,
        "no messages",
    );
    Ok(())
}

/// When the provider reported the delivery, and at what price.
fn receipt(r: &DeliveryReceipt) -> String {
    match &r.price_usd {
        Some(price) => format!("{} ${price}", output::time(r.at)),
        None => output::time(r.at),
    }
}

pub fn tenant_id(s: &str) -> std::result::Result<TenantId, String> {
    TenantId::parse(s).ok_or_else(|| format!("expected {}", TenantId::EXPECTED))
}
