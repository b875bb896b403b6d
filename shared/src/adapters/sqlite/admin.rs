//! What operators do on SQLite: a whole configuration in and out, keys,
//! the message log.

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::{SqliteStore, all, exec, messages, to_json};
use crate::domain::{ApiKey, ExtensionRecord, KeyHash, MessageRecord, Tenant, TenantId};
use crate::ports::{Admin, Snapshot, StoreError};

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
                None => {
                    messages(conn, "SELECT data, attempts FROM messages ORDER BY at DESC, id DESC LIMIT ?1", [limit])
                }
            })
            .await
    }
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
