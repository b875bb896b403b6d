//! The file's tables, and how a file of an earlier version is brought up
//! to this one.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::db::err;
use crate::ports::StoreError;

/// The schema's version (`PRAGMA user_version`). Version 2 gave claims a
/// holder's token, budgets a kind, and messages an attempt count and their
/// provider's id, and added recording links; version 3 indexes expiry times;
/// version 4 adds the console's sessions, failed sign-ins and the audit log.
const SCHEMA_VERSION: i64 = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS numbers    (number TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants    (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS extensions (tenant TEXT NOT NULL, extension TEXT NOT NULL, data TEXT NOT NULL,
                                       PRIMARY KEY (tenant, extension));
CREATE TABLE IF NOT EXISTS api_keys   (hash TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims     (id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, token TEXT NOT NULL,
                                       done INTEGER NOT NULL, lease_until INTEGER NOT NULL, result TEXT,
                                       expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rates      (tenant TEXT NOT NULL, budget TEXT NOT NULL, window TEXT NOT NULL,
                                       bucket INTEGER NOT NULL, count INTEGER NOT NULL, expires_at INTEGER NOT NULL,
                                       PRIMARY KEY (tenant, budget, window, bucket));
CREATE TABLE IF NOT EXISTS messages   (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, at INTEGER NOT NULL,
                                       data TEXT NOT NULL, expires_at INTEGER NOT NULL,
                                       provider_id TEXT, attempts INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS messages_by_tenant ON messages (tenant, at);
CREATE INDEX IF NOT EXISTS messages_by_provider_id ON messages (provider_id) WHERE provider_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS links      (hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expires_at);
CREATE INDEX IF NOT EXISTS claims_by_expiry ON claims (expires_at);
CREATE INDEX IF NOT EXISTS rates_by_expiry ON rates (expires_at);
CREATE INDEX IF NOT EXISTS links_by_expiry ON links (expires_at);
CREATE TABLE IF NOT EXISTS sessions   (hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS sign_ins   (source TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
                                       expires_at INTEGER NOT NULL, PRIMARY KEY (source, bucket));
CREATE INDEX IF NOT EXISTS sign_ins_by_expiry ON sign_ins (expires_at);
CREATE TABLE IF NOT EXISTS audit      (id TEXT PRIMARY KEY, tenant TEXT, at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit (tenant, id);
";

/// From version 1: claims and rate counters are short-lived and go; the
/// message log is kept and gains its new columns.
const MIGRATE_1_TO_2: &str = "
DROP TABLE IF EXISTS claims;
DROP TABLE IF EXISTS rates;
ALTER TABLE messages ADD COLUMN provider_id TEXT;
ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
";

/// Brings a file of any earlier version to this one, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
    let has_messages = tx
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'", [], |_| Ok(()))
        .optional()
        .map_err(err)?
        .is_some();
    if version < 2 && has_messages {
        tx.execute_batch(MIGRATE_1_TO_2).map_err(err)?;
    }
    if version < SCHEMA_VERSION {
        tx.execute_batch(SCHEMA).map_err(err)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(err)?;
    }
    tx.commit().map_err(err)
}
