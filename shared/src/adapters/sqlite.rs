//! The embedded store: one SQLite file. Entities are kept as JSON of their
//! domain types, keyed like the DynamoDB table. Every call runs on the
//! file's connection thread ([`Db`]) inside a write transaction, so counters
//! and claims stay atomic, also across processes sharing the file.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Snapshot;
use crate::domain::{
    ApiKey, Cursor, ExtensionRecord, KeyHash, MessageKind, MessageRecord, MessageStatus, RateLimits,
    Receipt, RecordingLink, Tenant, TenantId, Window,
};
use crate::ports::{
    Admin, Begun, Claim, Closing, End, Found, Held, Lookup, MessagePage, MessageQuery, Received, Start, Store,
    StoreError,
};

pub use super::db::{Db, open};
pub(crate) use super::db::err;

/// The schema's version (`PRAGMA user_version`). Version 2 gave claims a
/// holder's token, budgets a kind, and messages an attempt count and their
/// provider's id, and added recording links; version 3 indexes expiry times.
const SCHEMA_VERSION: i64 = 3;

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
";

/// From version 1: claims and rate counters are short-lived and go; the
/// message log is kept and gains its new columns.
const MIGRATE_1_TO_2: &str = "
DROP TABLE IF EXISTS claims;
DROP TABLE IF EXISTS rates;
ALTER TABLE messages ADD COLUMN provider_id TEXT;
ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
";

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
        Ok(SqliteStore { db: Db::open(path, migrate)?, purged: Arc::new(AtomicI64::new(i64::MIN)) })
    }

    /// The connection it works on: the outbox on the same file shares it.
    pub fn db(&self) -> Db {
        self.db.clone()
    }
}

/// Brings a file of any earlier version to this one, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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

/// A claim, owned, to travel to the connection's thread.
struct ClaimRow {
    id: String,
    fingerprint: String,
    token: String,
    lease_until: i64,
    keep_secs: i64,
}

impl ClaimRow {
    fn of(c: &Claim<'_>) -> Self {
        ClaimRow {
            id: c.id.to_owned(),
            fingerprint: c.fingerprint.to_owned(),
            token: c.token.to_owned(),
            lease_until: c.lease_until,
            keep_secs: c.keep_secs,
        }
    }

    fn as_claim(&self) -> Claim<'_> {
        Claim { id: &self.id, fingerprint: &self.fingerprint, token: &self.token, lease_until: self.lease_until, keep_secs: self.keep_secs }
    }
}

/// A claim's closing, owned.
struct ClosingRow {
    id: String,
    token: String,
    result: Option<String>,
    keep_secs: i64,
}

impl ClosingRow {
    fn of(c: &Closing<'_>) -> Self {
        ClosingRow { id: c.id.to_owned(), token: c.token.to_owned(), result: c.result.map(str::to_owned), keep_secs: c.keep_secs }
    }

    fn as_closing(&self) -> Closing<'_> {
        Closing { id: &self.id, token: &self.token, result: self.result.as_deref(), keep_secs: self.keep_secs }
    }
}

/// Runs one statement, prepared once per connection; the rows it changed.
pub(crate) fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<usize, StoreError> {
    conn.prepare_cached(sql).and_then(|mut stmt| stmt.execute(p)).map_err(err)
}

#[async_trait]
impl Store for SqliteStore {
    async fn lookup(&self, l: Lookup<'_>) -> Result<Found, StoreError> {
        let (key, tenant, extension, number) = (l.key.cloned(), l.tenant.cloned(), l.extension.cloned(), l.number.cloned());
        self.db
            .call(move |conn| {
                // One transaction counts a send: no slot is taken with the read.
                let l = Lookup { key: key.as_ref(), tenant: tenant.as_ref(), extension: extension.as_ref(), number: number.as_ref(), send_at: None };
                lookup(conn, l)
            })
            .await
    }

    async fn begin(&self, start: &Start<'_>) -> Result<Begun, StoreError> {
        let (record, claim, link) = (start.record.clone(), start.claim.as_ref().map(ClaimRow::of), start.link.cloned());
        let (budget, now, log_keep_secs) = (start.budget, start.now, start.log_keep_secs);
        self.db
            .call(move |conn| {
                let claim = claim.as_ref().map(ClaimRow::as_claim);
                begin(conn, &Start { record: &record, claim, budget, now, log_keep_secs, link: link.as_ref() })
            })
            .await
    }

    async fn finish(&self, end: &End<'_>) -> Result<bool, StoreError> {
        let (record, closing) = (end.record.clone(), end.claim.as_ref().map(ClosingRow::of));
        let (now, log_keep_secs, purged) = (end.now, end.log_keep_secs, self.purged.clone());
        self.db
            .call(move |conn| {
                let claim = closing.as_ref().map(ClosingRow::as_closing);
                let done = finish(conn, &End { record: &record, claim, now, log_keep_secs })?;
                // Once a second of the clock, not for every send: expired
                // rows go at most a second later (DynamoDB's TTL takes days).
                if purged.fetch_max(now, Ordering::Relaxed) < now {
                    purge(conn, now)?;
                }
                Ok(done)
            })
            .await
    }

    async fn receive(&self, receipt: &Receipt) -> Result<Received, StoreError> {
        let receipt = receipt.clone();
        self.db.call(move |conn| receive(conn, &receipt)).await
    }

    async fn page(&self, q: &MessageQuery<'_>) -> Result<MessagePage, StoreError> {
        let limit = q.limit;
        let params = (
            q.tenant.as_str().to_owned(),
            q.since,
            q.until,
            q.after.map(|c| c.at),
            q.after.map(|c| c.id.clone()),
            q.status.map(MessageStatus::as_str),
            q.from.map(str::to_owned),
            q.to.map(str::to_owned),
            i64::try_from(limit).unwrap_or(i64::MAX),
        );
        let messages = self
            .db
            .call(move |conn| {
                messages(
                    conn,
                    "SELECT data, attempts FROM messages
                      WHERE tenant = ?1 AND at BETWEEN ?2 AND ?3
                        AND (?4 IS NULL OR at < ?4 OR (at = ?4 AND id < ?5))
                        AND (?6 IS NULL OR json_extract(data, '$.status') = ?6)
                        AND (?7 IS NULL OR json_extract(data, '$.from') = ?7)
                        AND (?8 IS NULL OR json_extract(data, '$.to') = ?8)
                      ORDER BY at DESC, id DESC LIMIT ?9",
                    params,
                )
            })
            .await?;
        let next = (messages.len() == limit)
            .then(|| messages.last().map(|m| Cursor { at: m.at, id: m.id.clone() }))
            .flatten();
        Ok(MessagePage { messages, next })
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        let id = id.to_owned();
        let found = self.db.call(move |conn| messages(conn, "SELECT data, attempts FROM messages WHERE id = ?1", [id])).await?;
        Ok(found.into_iter().next())
    }

    async fn link(&self, hash: &KeyHash) -> Result<Option<RecordingLink>, StoreError> {
        let hash = hash.as_str().to_owned();
        self.db.call(move |conn| one(conn, "SELECT data FROM links WHERE hash = ?1", [hash])).await
    }

    async fn update_extension(&self, next: &ExtensionRecord, read: &ExtensionRecord) -> Result<bool, StoreError> {
        let p = (next.tenant.as_str().to_owned(), next.extension.as_str().to_owned(), to_json(next)?, to_json(read)?);
        let sql = "UPDATE extensions SET data = ?3 WHERE tenant = ?1 AND extension = ?2 AND data = ?4";
        self.db.call(move |conn| Ok(exec(conn, sql, p)? == 1)).await
    }
}

fn lookup(conn: &Connection, l: Lookup<'_>) -> Result<Found, StoreError> {
    let mut found = Found::default();
    if let Some(h) = l.key {
        found.key = one(conn, "SELECT data FROM api_keys WHERE hash = ?1", [h.as_str()])?;
    }
    if let Some(t) = l.tenant {
        found.tenant = one::<Tenant>(conn, "SELECT data FROM tenants WHERE id = ?1", [t.as_str()])?;
        if let Some(sender) = found.tenant.as_ref().and_then(|t| t.sender_number.as_ref()) {
            found.sender = one(conn, "SELECT data FROM numbers WHERE number = ?1", [sender.as_str()])?;
        }
        if let Some(x) = l.extension {
            found.extension =
                one(conn, "SELECT data FROM extensions WHERE tenant = ?1 AND extension = ?2", [t.as_str(), x.as_str()])?;
        }
    }
    if let Some(n) = l.number {
        found.number = one(conn, "SELECT data FROM numbers WHERE number = ?1", [n.as_str()])?;
    }
    Ok(found)
}

/// Runs in the call's savepoint: what it wrote is undone if it fails.
fn begin(conn: &Connection, start: &Start<'_>) -> Result<Begun, StoreError> {
    let record = start.record;
    if let Some(claim) = &start.claim
        && let Some(held) = held(conn, claim.id, start.now)?
    {
        return Ok(Begun::Held(held));
    }
    if let Some((budget, limits)) = start.budget
        && let Some(window) = take_rate(conn, &record.tenant, budget, limits, start.now)?
    {
        return Ok(Begun::Limited(window));
    }
    if let Some(claim) = &start.claim {
        // A final record ends the work here: the claim is finished at once.
        let (done, result, expires_at) = match record.status {
            MessageStatus::Sending => (false, None, claim.lease_until),
            status => (true, Some(status.as_str()), start.now + claim.keep_secs),
        };
        exec(
            conn,
            "INSERT OR REPLACE INTO claims (id, fingerprint, token, done, lease_until, result, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![claim.id, claim.fingerprint, claim.token, done, claim.lease_until, result, expires_at],
        )?;
    }
    let attempt = u32::from(record.status == MessageStatus::Sending);
    put_message(conn, record, start.log_keep_secs, attempt)?;
    if let Some(link) = start.link {
        exec(
            conn,
            "INSERT OR REPLACE INTO links (hash, data, expires_at) VALUES (?1, ?2, ?3)",
            params![link.hash.as_str(), to_json(link)?, link.expires_at],
        )?;
    }
    Ok(Begun::Started)
}

fn finish(conn: &Connection, end: &End<'_>) -> Result<bool, StoreError> {
    if let Some(closing) = &end.claim {
        let holder: Option<(String, bool)> = conn
            .prepare_cached("SELECT token, done FROM claims WHERE id = ?1")
            .and_then(|mut stmt| stmt.query_row([closing.id], |r| Ok((r.get(0)?, r.get(1)?))))
            .optional()
            .map_err(err)?;
        if holder != Some((closing.token.to_owned(), false)) {
            return Ok(false);
        }
        match closing.result {
            Some(result) => exec(
                conn,
                "UPDATE claims SET done = 1, result = ?2, expires_at = ?3 WHERE id = ?1",
                params![closing.id, result, end.now + closing.keep_secs],
            ),
            None => exec(conn, "DELETE FROM claims WHERE id = ?1", [closing.id]),
        }?;
    }
    put_message(conn, end.record, end.log_keep_secs, 0)?;
    Ok(true)
}

/// SQLite has no TTL: what expired goes as new work ends (indexed).
fn purge(conn: &Connection, now: i64) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM messages WHERE expires_at <= ?1",
        "DELETE FROM claims WHERE expires_at <= ?1",
        "DELETE FROM rates WHERE expires_at <= ?1",
        "DELETE FROM links WHERE expires_at <= ?1",
    ] {
        exec(conn, sql, [now])?;
    }
    Ok(())
}

fn receive(conn: &Connection, receipt: &Receipt) -> Result<Received, StoreError> {
    let found: Option<(String, u32)> = conn
        .prepare_cached("SELECT data, attempts FROM messages WHERE provider_id = ?1")
        .and_then(|mut stmt| stmt.query_row([&receipt.provider_id], |r| Ok((r.get(0)?, r.get(1)?))))
        .optional()
        .map_err(err)?;
    let Some((data, attempts)) = found else {
        return Ok(Received::Unknown);
    };
    let record = MessageRecord { attempts, ..from_json(&data)? };
    let Some(next) = record.with_receipt(receipt) else {
        return Ok(Received::Repeated);
    };
    // Only over what was read: a receipt that raced in first wins.
    let changed = exec(conn, "UPDATE messages SET data = ?2 WHERE id = ?1 AND data = ?3", params![record.id, to_json(&next)?, data])?;
    Ok(if changed == 1 { Received::Applied(next) } else { Received::Repeated })
}

/// Who holds a live claim, if anyone: finished, or pending within its lease.
fn held(conn: &Connection, id: &str, now: i64) -> Result<Option<Held>, StoreError> {
    let row = conn
        .query_row(
            "SELECT fingerprint, done, lease_until, result FROM claims WHERE id = ?1 AND expires_at > ?2",
            params![id, now],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?)),
        )
        .optional()
        .map_err(err)?;
    Ok(match row {
        Some((fingerprint, true, _, result)) => Some(Held::Done { fingerprint, result: result.unwrap_or_default() }),
        Some((fingerprint, false, lease_until, _)) if lease_until > now => Some(Held::Pending { fingerprint, lease_until }),
        _ => None,
    })
}

/// Counts one SMS in both windows of the budget, or names the full window
/// (the minute first) and counts nothing.
fn take_rate(
    conn: &Connection,
    tenant: &TenantId,
    budget: MessageKind,
    limits: RateLimits,
    now: i64,
) -> Result<Option<Window>, StoreError> {
    let windows = [Window::Minute, Window::Day];
    for window in windows {
        let count: i64 = conn
            .prepare_cached("SELECT count FROM rates WHERE tenant = ?1 AND budget = ?2 AND window = ?3 AND bucket = ?4")
            .and_then(|mut stmt| {
                stmt.query_row(params![tenant.as_str(), budget.as_str(), window.to_string(), now / window.seconds()], |r| {
                    r.get(0)
                })
            })
            .optional()
            .map_err(err)?
            .unwrap_or(0);
        if count >= i64::from(limits.of(window)) {
            return Ok(Some(window));
        }
    }
    for window in windows {
        let bucket = now / window.seconds();
        exec(
            conn,
            "INSERT INTO rates (tenant, budget, window, bucket, count, expires_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT (tenant, budget, window, bucket) DO UPDATE SET count = count + 1",
            params![tenant.as_str(), budget.as_str(), window.to_string(), bucket, (bucket + 1) * window.seconds()],
        )?;
    }
    Ok(None)
}

/// Writes a log entry, counting `attempt` more send attempts.
fn put_message(conn: &Connection, record: &MessageRecord, keep_secs: i64, attempt: u32) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO messages (id, tenant, at, data, expires_at, provider_id, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET tenant = ?2, at = ?3, data = ?4, expires_at = ?5, provider_id = ?6,
                                         attempts = attempts + ?7",
        params![record.id, record.tenant.as_str(), record.at, to_json(record)?, record.at + keep_secs, record.provider_id, attempt],
    )
    .map(drop)
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

#[async_trait]
impl Admin for SqliteStore {
    async fn apply(&self, snapshot: &Snapshot, delete_keys: &[KeyHash]) -> Result<(), StoreError> {
        let (snapshot, delete_keys) = (snapshot.clone(), delete_keys.to_vec());
        self.db.call(move |conn| apply(conn, &snapshot, &delete_keys)).await
    }

    async fn export(&self) -> Result<Snapshot, StoreError> {
        self.db
            .call(|conn| {
                Ok(Snapshot {
                    numbers: all(conn, "SELECT data FROM numbers ORDER BY number", [])?,
                    tenants: all::<Tenant>(conn, "SELECT data FROM tenants ORDER BY CAST(id AS INTEGER), id", [])?,
                    extensions: all::<ExtensionRecord>(
                        conn,
                        "SELECT data FROM extensions ORDER BY CAST(tenant AS INTEGER), tenant, extension",
                        [],
                    )?,
                    keys: all(conn, "SELECT data FROM api_keys ORDER BY name", [])?,
                })
            })
            .await
    }

    async fn put_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.apply(&Snapshot { keys: vec![key.clone()], ..Snapshot::default() }, &[]).await
    }

    async fn keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.db.call(|conn| all(conn, "SELECT data FROM api_keys ORDER BY name", [])).await
    }

    async fn delete_key(&self, hash: &KeyHash) -> Result<(), StoreError> {
        let hash = hash.as_str().to_owned();
        self.db.call(move |conn| exec(conn, "DELETE FROM api_keys WHERE hash = ?1", [hash]).map(drop)).await
    }

    async fn messages(&self, tenant: Option<&TenantId>, limit: usize) -> Result<Vec<MessageRecord>, StoreError> {
        let (tenant, limit) = (tenant.map(|t| t.as_str().to_owned()), i64::try_from(limit).unwrap_or(i64::MAX));
        self.db
            .call(move |conn| match tenant {
                Some(t) => messages(
                    conn,
                    "SELECT data, attempts FROM messages WHERE tenant = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
                    params![t, limit],
                ),
                None => messages(conn, "SELECT data, attempts FROM messages ORDER BY at DESC, id DESC LIMIT ?1", [limit]),
            })
            .await
    }
}

/// A whole configuration, in the call's savepoint: all of it or nothing.
fn apply(conn: &Connection, snapshot: &Snapshot, delete_keys: &[KeyHash]) -> Result<(), StoreError> {
    for n in &snapshot.numbers {
        exec(conn, "INSERT OR REPLACE INTO numbers (number, data) VALUES (?1, ?2)", params![n.number.as_str(), to_json(n)?])?;
    }
    for t in &snapshot.tenants {
        exec(conn, "INSERT OR REPLACE INTO tenants (id, data) VALUES (?1, ?2)", params![t.id.as_str(), to_json(t)?])?;
    }
    for x in &snapshot.extensions {
        exec(
            conn,
            "INSERT OR REPLACE INTO extensions (tenant, extension, data) VALUES (?1, ?2, ?3)",
            params![x.tenant.as_str(), x.extension.as_str(), to_json(x)?],
        )?;
    }
    for h in delete_keys {
        exec(conn, "DELETE FROM api_keys WHERE hash = ?1", [h.as_str()])?;
    }
    for k in &snapshot.keys {
        exec(conn, "DELETE FROM api_keys WHERE name = ?1 AND hash <> ?2", params![k.name, k.hash.as_str()])?;
        exec(
            conn,
            "INSERT OR REPLACE INTO api_keys (hash, name, data) VALUES (?1, ?2, ?3)",
            params![k.hash.as_str(), k.name, to_json(k)?],
        )?;
    }
    Ok(())
}
