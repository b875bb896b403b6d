//! `apply` and `export`: the whole configuration, in and out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use shared::adapters::clock::SystemClock;
use shared::ports::{Admin, Change, Clock as _};
use shared::service::config::Config;

use crate::fail::{Fail, Result};
use crate::output::say;
use crate::target::Target;

#[derive(Args)]
pub struct ApplyArgs {
    /// The configuration file (JSON, see docs/cli.md).
    file: PathBuf,
    /// Create the DynamoDB table first, if it does not exist (with --table).
    #[arg(long)]
    create_table: bool,
    /// Refuse secrets with under 128 bits of estimated entropy (otherwise
    /// they are applied with a warning).
    #[arg(long)]
    strict: bool,
}

pub async fn apply(target: &Target, args: ApplyArgs) -> Result {
    // Parsed whole before the store is touched: a malformed file writes nothing.
    let config = read(&args.file)?;
    let admin = target.admin(args.create_table).await?;
    crate::secrets::refuse_or_warn(&crate::secrets::weak_in(&config), args.strict)?;
    write(admin.as_ref(), &config).await
}

pub async fn export(target: &Target) -> Result {
    let snapshot = target.admin(false).await?.export().await?;
    crate::output::json(&Config::from(snapshot))
}

fn read(path: &Path) -> Result<Config> {
    let at = |e: &dyn std::fmt::Display| Fail::new(format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| at(&e))?;
    Config::from_json(&text).map_err(|e| at(&e))
}

/// Warns about what will not qualify yet, writes the configuration, and shows
/// each generated secret once.
pub async fn write(admin: &dyn Admin, config: &Config) -> Result {
    // One read of what is stored: its numbers for the warnings, its keys
    // for the plan.
    let stored = admin.export().await?;
    let stored_numbers: BTreeMap<_, _> = stored.numbers.iter().map(|n| (n.number.clone(), n.clone())).collect();
    for warning in config.warnings(&stored_numbers) {
        eprintln!("warning: {warning}");
    }
    let now = SystemClock.now();
    let plan = config.plan(&stored.keys, now);
    let audit = shared::service::config::audit_of("smsctl apply", now, &stored, &plan.snapshot, &plan.delete_keys);
    let change = Change { snapshot: plan.snapshot.clone(), delete_keys: plan.delete_keys.clone(), audit };
    admin.record(&change).await?;
    let s = &plan.snapshot;
    say!(
        "applied: {} number(s), {} tenant(s), {} extension(s), {} API key(s)",
        s.numbers.len(),
        s.tenants.len(),
        s.extensions.len(),
        s.keys.len()
    );
    for (name, secret) in &plan.generated {
        crate::keys::show_secret(name, secret)?;
    }
    Ok(())
}
