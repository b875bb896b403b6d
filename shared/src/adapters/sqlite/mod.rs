//! The embedded store: one SQLite file. Entities are kept as JSON of their
//! domain types, keyed like the DynamoDB table. Every call runs on the
//! file's connection thread ([`db::Db`]) inside a write transaction, so
//! counters and claims stay atomic, also across processes sharing the file.
//!
//! - [`db`]: the connection thread; [`schema`]: tables and migrations;
//! - `store`: the hot path ([`Store`](crate::ports::Store)); `admin`: what
//!   operators do ([`Admin`](crate::ports::Admin)).

mod admin;
pub mod db;
mod schema;
mod store;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::MessageRecord;
use crate::ports::StoreError;
use db::{Db, err};

pub struct SqliteStore {
    db: Db,
    /// The last second whose expired rows were deleted.
    purged: Arc<AtomicI64>,
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(err)
}

fn from_json<T: DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError(format!("corrupt row: {e}")))
}

impl SqliteStore {
    /// The store on its own connection to `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqliteStore { db: Db::open(path, schema::migrate)?, purged: Arc::new(AtomicI64::new(i64::MIN)) })
    }

    /// The connection it works on: the outbox on the same file shares it.
    pub fn db(&self) -> Db {
        self.db.clone()
    }
}

fn one<T: DeserializeOwned>(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Option<T>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row(p, |r| r.get::<_, String>(0)))
        .optional()
        .map_err(err)?
        .map(|s| from_json(&s))
        .transpose()
}

fn all<T: DeserializeOwned>(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    let rows = stmt.query_map(p, |r| r.get::<_, String>(0)).map_err(err)?;
    rows.map(|r| from_json(&r.map_err(err)?)).collect()
}

/// Runs one statement, prepared once per connection; the rows it changed.
pub(super) fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<usize, StoreError> {
    conn.prepare_cached(sql).and_then(|mut stmt| stmt.execute(p)).map_err(err)
}

/// Log entries with their attempt counts.
fn messages(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<MessageRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    let rows = stmt.query_map(p, |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))).map_err(err)?;
    rows.map(|row| {
        let (data, attempts) = row.map_err(err)?;
        let mut record: MessageRecord = from_json(&data)?;
        record.attempts = attempts;
        Ok(record)
    })
    .collect()
}
