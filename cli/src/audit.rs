//! `audit`: the audit log, newest first: every change made in the console
//! or by `apply` and `keys` (who, when, what, before and after; never a
//! secret).

use clap::Args;
use shared::domain::TenantId;

use crate::fail::Result;
use crate::output;
use crate::target::Target;

#[derive(Args)]
pub struct AuditArgs {
    /// Only this tenant's changes.
    #[arg(long, value_parser = crate::messages::tenant_id)]
    tenant: Option<TenantId>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(target: &Target, args: AuditArgs) -> Result {
    let entries = target.admin(false).await?.audit(args.tenant.as_ref(), args.limit).await?;
    if args.json {
        return output::json(&entries);
    }
    let text = |v: Option<String>| shared::domain::text::escape(v.as_deref().unwrap_or("-"));
    let rows: Vec<Vec<String>> = entries
        .into_iter()
        .map(|e| {
            let tenant = e.tenant.map_or_else(|| "*".to_owned(), |t| t.to_string());
            vec![output::time(e.at), e.who, tenant, e.what, text(e.before), text(e.after)]
        })
        .collect();
    output::table(&["AT", "WHO", "TENANT", "WHAT", "BEFORE", "AFTER"], &rows, "no changes recorded");
    Ok(())
}
