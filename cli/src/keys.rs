//! `keys`: API keys. A secret is shown once, when it is made; the store keeps
//! only its hash, and nothing here prints more than a prefix of that.

use clap::{Args, Subcommand};
use serde::Serialize;
use serde::de::{Deserialize, IntoDeserializer};
use shared::adapters::clock::SystemClock;
use shared::domain::{ApiKey, ApiKeySecret, KeyHash, Permission, TenantScope};
use shared::ports::{Admin, Change, Clock as _, Snapshot};
use shared::service::config::audit_of;

use crate::fail::{Fail, Result};
use crate::output::{self, say};
use crate::target::Target;

/// Enough of a hash to tell keys apart, too little to matter.
const HASH_PREFIX: usize = 8;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Creates a key and prints its secret, once.
    Create(CreateArgs),
    /// Lists keys: name, hash prefix, tenants, permissions, state, creation.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disables a key: requests with it are refused from now on.
    Disable { name: String },
    /// Enables a disabled key again.
    Enable { name: String },
    /// Gives a key a new secret, printed once; the old one stops working.
    Rotate {
        name: String,
        #[command(flatten)]
        chosen: ChosenSecret,
    },
    /// Deletes a key.
    Delete { name: String },
}

#[derive(Args)]
pub struct CreateArgs {
    /// A name to tell it by (1 to 128 characters).
    #[arg(long, value_parser = key_name)]
    name: String,
    /// Tenant ids, comma-separated (59,60), or * for every tenant.
    #[arg(long, value_parser = scope)]
    tenants: TenantScope,
    /// What it may do, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = permission, default_value = "sms")]
    permissions: Vec<Permission>,
    /// Create it disabled.
    #[arg(long)]
    disabled: bool,
    #[command(flatten)]
    chosen: ChosenSecret,
}

/// A secret the operator brings instead of a generated one (to match a
/// PBX already configured): read from standard input, never from the
/// command line, where other users and the shell history would see it.
#[derive(Args)]
pub struct ChosenSecret {
    /// Read the secret from standard input (one line) instead of generating one.
    #[arg(long)]
    secret_stdin: bool,
    /// Refuse a secret from standard input with under 128 bits of estimated entropy.
    #[arg(long, requires = "secret_stdin")]
    strict: bool,
}

impl ChosenSecret {
    /// The operator's secret, judged; otherwise a generated one, and whether
    /// it must be shown.
    fn secret(&self, name: &str) -> Result<(ApiKeySecret, bool)> {
        if !self.secret_stdin {
            return Ok((ApiKeySecret::generate(), true));
        }
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| Fail::new(format!("reading the secret: {e}")))?;
        let secret = ApiKeySecret::parse(line.trim_end_matches(['\r', '\n'])).ok_or_else(|| {
            Fail::usage(format!("the secret from standard input: expected {}", ApiKeySecret::EXPECTED))
        })?;
        let weak: Vec<String> = crate::secrets::judge(name, &secret).into_iter().collect();
        crate::secrets::refuse_or_warn(&weak, self.strict)?;
        Ok((secret, false))
    }
}

pub async fn run(target: &Target, command: KeysCommand) -> Result {
    let admin = target.admin(false).await?;
    let admin = admin.as_ref();
    match command {
        KeysCommand::Create(args) => create(admin, args).await,
        KeysCommand::List { json } => list(admin, json).await,
        KeysCommand::Disable { name } => set_enabled(admin, &name, false).await,
        KeysCommand::Enable { name } => set_enabled(admin, &name, true).await,
        KeysCommand::Rotate { name, chosen } => rotate(admin, &name, &chosen).await,
        KeysCommand::Delete { name } => {
            let stored = admin.keys().await?;
            let hash = named(&stored, &name)?.hash.clone();
            write(admin, &stored, Vec::new(), vec![hash]).await?;
            say!("API key {name:?} deleted");
            Ok(())
        }
    }
}

/// The one place a secret is printed. It is kept nowhere else, so failing
/// to print it is worth an error.
pub fn show_secret(name: &str, secret: &ApiKeySecret) -> Result {
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "API key {name:?}: {} (shown once; store it now)", secret.reveal()).map_err(
        |e| {
            Fail::new(format!(
                "the secret of API key {name:?} could not be printed ({e}): \
             give it a new one with `smsctl keys rotate {name}`"
            ))
        },
    )
}

async fn create(admin: &dyn Admin, args: CreateArgs) -> Result {
    let stored = admin.keys().await?;
    if stored.iter().any(|k| k.name == args.name) {
        return Err(Fail::new(format!(
            "API key {:?} already exists (give it a new secret with: smsctl keys rotate {})",
            args.name, args.name
        )));
    }
    let mut permissions = Vec::new();
    for p in args.permissions {
        if !permissions.contains(&p) {
            permissions.push(p);
        }
    }
    let (secret, show) = args.chosen.secret(&args.name)?;
    unused(&stored, &secret)?;
    let key = ApiKey {
        name: args.name.clone(),
        hash: secret.hash(),
        tenants: args.tenants,
        permissions,
        enabled: !args.disabled,
        created_at: SystemClock.now(),
    };
    write(admin, &stored, vec![key], Vec::new()).await?;
    confirm(&args.name, &secret, show, "created")
}

/// Keys are found by their secret's hash: one secret, one key. A reused
/// secret (its own included, on rotation) is refused.
fn unused(stored: &[ApiKey], secret: &ApiKeySecret) -> Result {
    match stored.iter().find(|k| k.hash == secret.hash()) {
        Some(k) => Err(Fail::usage(format!("the secret from standard input is already API key {:?}'s", k.name))),
        None => Ok(()),
    }
}

/// A generated secret is shown, once; an operator's own is not echoed.
fn confirm(name: &str, secret: &ApiKeySecret, show: bool, done: &str) -> Result {
    if show {
        return show_secret(name, secret);
    }
    say!("API key {name:?} {done} with the secret from standard input");
    Ok(())
}

#[derive(Serialize)]
struct Listed {
    name: String,
    hash_prefix: String,
    tenants: TenantScope,
    permissions: Vec<Permission>,
    enabled: bool,
    created: String,
}

async fn list(admin: &dyn Admin, json: bool) -> Result {
    let keys: Vec<Listed> = admin
        .keys()
        .await?
        .into_iter()
        .map(|k| Listed {
            hash_prefix: k.hash.as_str().chars().take(HASH_PREFIX).collect(),
            created: output::time(k.created_at),
            name: k.name,
            tenants: k.tenants,
            permissions: k.permissions,
            enabled: k.enabled,
        })
        .collect();
    if json {
        return output::json(&keys);
    }
    let rows: Vec<Vec<String>> = keys
        .into_iter()
        .map(|k| {
            vec![
                shared::domain::text::escape(&k.name),
                k.hash_prefix,
                k.tenants.to_strings().join(","),
                k.permissions.iter().map(|p| permission_name(*p)).collect::<Vec<_>>().join(","),
                if k.enabled { "yes" } else { "no" }.to_owned(),
                k.created,
            ]
        })
        .collect();
    output::table(&["NAME", "HASH", "TENANTS", "PERMISSIONS", "ENABLED", "CREATED"], &rows, "no API keys");
    Ok(())
}

async fn set_enabled(admin: &dyn Admin, name: &str, enabled: bool) -> Result {
    let stored = admin.keys().await?;
    let key = ApiKey { enabled, ..named(&stored, name)?.clone() };
    write(admin, &stored, vec![key], Vec::new()).await?;
    say!("API key {name:?} {}", if enabled { "enabled" } else { "disabled" });
    Ok(())
}

async fn rotate(admin: &dyn Admin, name: &str, chosen: &ChosenSecret) -> Result {
    let stored = admin.keys().await?;
    let old = named(&stored, name)?.clone();
    let (secret, show) = chosen.secret(name)?;
    unused(&stored, &secret)?;
    let new = ApiKey { hash: secret.hash(), ..old.clone() };
    // One write: the new hash in, the old one out.
    write(admin, &stored, vec![new], vec![old.hash]).await?;
    confirm(name, &secret, show, "rotated")
}

/// Keys written over the `stored` ones, with what the audit log says of it.
async fn write(admin: &dyn Admin, stored: &[ApiKey], keys: Vec<ApiKey>, delete_keys: Vec<KeyHash>) -> Result {
    let before = Snapshot { keys: stored.to_vec(), ..Snapshot::default() };
    let snapshot = Snapshot { keys, ..Snapshot::default() };
    let audit = audit_of("smsctl keys", SystemClock.now(), &before, &snapshot, &delete_keys);
    admin.record(&Change { snapshot, delete_keys, audit }).await?;
    Ok(())
}

fn named<'a>(stored: &'a [ApiKey], name: &str) -> Result<&'a ApiKey> {
    stored.iter().find(|k| k.name == name).ok_or_else(|| Fail::new(format!("no API key named {name:?}")))
}

/// The configuration file's rule for names.
fn key_name(s: &str) -> std::result::Result<String, String> {
    if s.trim().is_empty() || s.len() > 128 {
        return Err("expected a name of 1 to 128 characters".to_owned());
    }
    Ok(s.to_owned())
}

fn scope(s: &str) -> std::result::Result<TenantScope, String> {
    let items: Vec<&str> = s.split(',').map(str::trim).collect();
    TenantScope::from_strings(&items)
        .ok_or_else(|| "expected * or comma-separated tenant ids of 1 to 10 digits".to_owned())
}

/// Through serde, so that the names are the configuration file's.
fn permission(s: &str) -> std::result::Result<Permission, String> {
    Permission::deserialize(s.trim().into_deserializer()).map_err(|e: serde::de::value::Error| e.to_string())
}

fn permission_name(p: Permission) -> String {
    serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
