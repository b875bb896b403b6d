//! What operators do on SQLite: a whole configuration in and out, keys,
//! the message log, and the console's pages, sessions and audit log.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::db::err;
use super::{SqliteStore, all, exec, messages, one, to_json};
use crate::domain::{
    ApiKey, Extension, ExtensionRecord, KeyHash, MessageRecord, MessageStatus, SmsNumber, Tenant, TenantId,
};
use crate::ports::{Admin, AuditEntry, Change, DayCount, ListQuery, Session, Snapshot, StoreError};

#[async_trait]
impl Admin for SqliteStore {
    async fn record(&self, change: &Change) -> Result<(), StoreError> {
        let change = change.clone();
        self.db
            .call(move |conn| {
                apply(conn, &change.snapshot, &change.delete_keys)?;
                change.audit.iter().try_for_each(|entry| audit(conn, entry))
            })
            .await
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

    async fn keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.db.call(|conn| all(conn, "SELECT data FROM api_keys ORDER BY name", [])).await
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
                None => {
                    messages(conn, "SELECT data, attempts FROM messages ORDER BY at DESC, id DESC LIMIT ?1", [limit])
                }
            })
            .await
    }

    async fn tenants(&self, q: ListQuery<'_>) -> Result<Vec<Tenant>, StoreError> {
        let (prefix, after, n) = (q.prefix.to_owned(), q.after.map(str::to_owned), limit(q.limit));
        self.db.call(move |conn| all(conn, TENANTS_PAGE, params![prefix, after, n])).await
    }

    async fn extensions(&self, tenant: &TenantId, q: ListQuery<'_>) -> Result<Vec<ExtensionRecord>, StoreError> {
        let (tenant, prefix, after) = (tenant.as_str().to_owned(), q.prefix.to_owned(), q.after.map(str::to_owned));
        let n = limit(q.limit);
        self.db.call(move |conn| all(conn, EXTENSIONS_PAGE, params![tenant, prefix, after, n])).await
    }

    async fn extension(&self, tenant: &TenantId, x: &Extension) -> Result<Option<ExtensionRecord>, StoreError> {
        let (tenant, x) = (tenant.as_str().to_owned(), x.as_str().to_owned());
        let sql = "SELECT data FROM extensions WHERE tenant = ?1 AND extension = ?2";
        self.db.call(move |conn| one(conn, sql, params![tenant, x])).await
    }

    async fn extensions_without_number(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let tenant = tenant.as_str().to_owned();
        let sql = "SELECT count(*) FROM extensions
                    WHERE tenant = ?1 AND data ->> '$.sms_notifications' AND data ->> '$.sms_number' IS NULL";
        self.db
            .call(move |conn| {
                let n: i64 =
                    conn.prepare_cached(sql).and_then(|mut s| s.query_row([tenant], |r| r.get(0))).map_err(err)?;
                Ok(usize::try_from(n).unwrap_or_default())
            })
            .await
    }

    async fn numbers(&self) -> Result<Vec<SmsNumber>, StoreError> {
        self.db.call(|conn| all(conn, "SELECT data FROM numbers ORDER BY number", [])).await
    }

    async fn audit(&self, tenant: Option<&TenantId>, n: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let (tenant, n) = (tenant.map(|t| t.as_str().to_owned()), limit(n));
        self.db
            .call(move |conn| match tenant {
                Some(t) => {
                    all(conn, "SELECT data FROM audit WHERE tenant = ?1 ORDER BY id DESC LIMIT ?2", params![t, n])
                }
                None => all(conn, "SELECT data FROM audit ORDER BY id DESC LIMIT ?1", [n]),
            })
            .await
    }

    async fn daily_counts(&self, tenant: &TenantId, since: i64, until: i64) -> Result<Vec<DayCount>, StoreError> {
        let tenant = tenant.as_str().to_owned();
        self.db.call(move |conn| daily_counts(conn, &tenant, since, until)).await
    }

    async fn open_session(&self, session: &Session) -> Result<(), StoreError> {
        let (hash, data, expires_at) = (session.hash.as_str().to_owned(), to_json(session)?, session.expires_at);
        let sql = "INSERT INTO sessions (hash, data, expires_at) VALUES (?1, ?2, ?3)";
        self.db.call(move |conn| exec(conn, sql, params![hash, data, expires_at]).map(drop)).await
    }

    async fn session(&self, hash: &KeyHash) -> Result<Option<Session>, StoreError> {
        let hash = hash.as_str().to_owned();
        self.db.call(move |conn| one(conn, "SELECT data FROM sessions WHERE hash = ?1", [hash])).await
    }

    async fn touch_session(&self, hash: &KeyHash, seen_at: i64) -> Result<(), StoreError> {
        let hash = hash.as_str().to_owned();
        let sql = "UPDATE sessions SET data = json_set(data, '$.seen_at', ?2) WHERE hash = ?1";
        self.db.call(move |conn| exec(conn, sql, params![hash, seen_at]).map(drop)).await
    }

    async fn close_session(&self, hash: &KeyHash) -> Result<(), StoreError> {
        let hash = hash.as_str().to_owned();
        self.db.call(move |conn| exec(conn, "DELETE FROM sessions WHERE hash = ?1", [hash]).map(drop)).await
    }

    async fn failed_sign_in(&self, source: &str, now: i64, window_secs: i64) -> Result<u32, StoreError> {
        let (source, bucket) = (source.to_owned(), now.div_euclid(window_secs));
        let expires_at = (bucket + 1) * window_secs;
        self.db
            .call(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO sign_ins (source, bucket, count, expires_at) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (source, bucket) DO UPDATE SET count = count + 1 RETURNING count",
                )
                .and_then(|mut stmt| stmt.query_row(params![source, bucket, expires_at], |r| r.get(0)))
                .optional()
                .map_err(err)
                .map(Option::unwrap_or_default)
            })
            .await
    }

    async fn sign_in_failures(&self, source: &str, now: i64, window_secs: i64) -> Result<u32, StoreError> {
        let (source, bucket) = (source.to_owned(), now.div_euclid(window_secs));
        let sql = "SELECT count FROM sign_ins WHERE source = ?1 AND bucket = ?2";
        self.db
            .call(move |conn| {
                conn.prepare_cached(sql)
                    .and_then(|mut stmt| stmt.query_row(params![source, bucket], |r| r.get(0)))
                    .optional()
                    .map_err(err)
                    .map(Option::unwrap_or_default)
            })
            .await
    }
}

/// Read off the counts the triggers keep (schema.rs): a row per day and
/// status, however many messages.
fn daily_counts(conn: &Connection, tenant: &str, since: i64, until: i64) -> Result<Vec<DayCount>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT day, status, count FROM daily
             WHERE tenant = ?1 AND day BETWEEN ?2 - ?2 % 86400 AND ?3 - ?3 % 86400 AND count > 0",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map(params![tenant, since, until], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)))
        .map_err(err)?;
    let mut out = Vec::new();
    for row in rows {
        let (day, status, count) = row.map_err(err)?;
        let status = status.parse::<MessageStatus>().map_err(|()| StoreError(format!("corrupt status {status}")))?;
        out.push(DayCount { day, status, count });
    }
    Ok(out)
}

/// Tenants in numeric order: the same order as `export`'s.
const TENANTS_PAGE: &str = "SELECT data FROM tenants
    WHERE substr(id, 1, length(?1)) = ?1 AND (?2 IS NULL OR (CAST(id AS INTEGER), id) > (CAST(?2 AS INTEGER), ?2))
    ORDER BY CAST(id AS INTEGER), id LIMIT ?3";

/// Extensions by number, on the primary key: a prefix of digits is the
/// range from it to the same with ':' (the character after '9') last.
const EXTENSIONS_PAGE: &str = "SELECT data FROM extensions
    WHERE tenant = ?1 AND extension >= ?2 AND extension < ?2 || ':' AND (?3 IS NULL OR extension > ?3)
    ORDER BY extension LIMIT ?4";

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn audit(conn: &Connection, entry: &AuditEntry) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT OR REPLACE INTO audit (id, tenant, at, data) VALUES (?1, ?2, ?3, ?4)",
        params![entry.id, entry.tenant.as_ref().map(TenantId::as_str), entry.at, to_json(entry)?],
    )
    .map(drop)
}

/// A whole configuration, in the call's savepoint: all of it or nothing.
fn apply(conn: &Connection, snapshot: &Snapshot, delete_keys: &[KeyHash]) -> Result<(), StoreError> {
    for n in &snapshot.numbers {
        exec(
            conn,
            "INSERT OR REPLACE INTO numbers (number, data) VALUES (?1, ?2)",
            params![n.number.as_str(), to_json(n)?],
        )?;
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
