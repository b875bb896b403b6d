//! Where commands read and write: the embedded SQLite file (the default) or,
//! with `--table`, DynamoDB. The rest of the settings (message log days,
//! voicemail key layout, ...) come from the environment, as for the
//! functions; every store, gateway and service comes from
//! `shared::startup`, as theirs do.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use shared::ports::Admin;
use shared::startup::{Backend, Settings};

use crate::fail::{Fail, Result};

#[derive(Args)]
pub struct Target {
    /// The embedded SQLite file: the store and the local outbox.
    #[arg(long, global = true, env = "SMS_DB_PATH", default_value = "sms.db", value_name = "PATH")]
    db: PathBuf,
    /// Work against this DynamoDB table instead (credentials and region from
    /// the usual AWS environment).
    #[arg(long, global = true, env = "SMS_TABLE_NAME", value_name = "NAME")]
    table: Option<String>,
}

impl Target {
    /// The functions' settings, with this command line's store.
    pub fn settings(&self) -> Result<Settings> {
        // Settings reads text; a path it cannot hold would silently fall
        // back to the default file.
        let db = self
            .db
            .to_str()
            .ok_or_else(|| Fail::usage(format!("--db {}: the path must be valid UTF-8", self.db.display())))?;
        Ok(Settings::from_lookup(|name| match name {
            "SMS_TABLE_NAME" => self.table.clone(),
            "SMS_DB_PATH" => Some(db.to_owned()),
            _ => std::env::var(name).ok(),
        })?)
    }

    /// The store, for what operators do (apply, export, keys, messages).
    pub async fn admin(&self, create_table: bool) -> Result<Arc<dyn Admin>> {
        let settings = self.settings()?;
        match &settings.backend {
            Backend::Embedded { .. } if create_table => {
                Err(Fail::usage("--create-table is for DynamoDB: give --table NAME"))
            }
            #[cfg(not(feature = "aws"))]
            Backend::Aws { .. } => Err(Fail::usage(
                "this smsctl was built without DynamoDB: build it with `cargo build -p smsctl --features aws`",
            )),
            _ => Ok(settings.admin(create_table).await?),
        }
    }

    /// The settings of what exists only locally (the outbox, the local
    /// server), which refuse DynamoDB.
    pub fn local(&self, command: &str) -> Result<Settings> {
        let settings = self.settings()?;
        match settings.backend {
            Backend::Embedded { .. } => Ok(settings),
            Backend::Aws { .. } => Err(Fail::usage(format!(
                "`smsctl {command}` works on the embedded store only: drop --table (and unset SMS_TABLE_NAME)"
            ))),
        }
    }
}
