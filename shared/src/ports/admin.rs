//! What operators do: a whole configuration in and out, keys, the log.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{ApiKey, ExtensionRecord, KeyHash, MessageRecord, SmsNumber, Tenant, TenantId};

/// What the store holds, whole: what `apply` writes and `export` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub numbers: Vec<SmsNumber>,
    pub tenants: Vec<Tenant>,
    pub extensions: Vec<ExtensionRecord>,
    pub keys: Vec<ApiKey>,
}

/// What operators do with `smsctl`.
#[async_trait]
pub trait Admin: Send + Sync {
    /// Writes a whole configuration, all of it or nothing, idempotently;
    /// a key replaces any stored key of the same name, and `delete_keys` go.
    async fn apply(&self, snapshot: &Snapshot, delete_keys: &[KeyHash]) -> Result<(), StoreError>;
    async fn export(&self) -> Result<Snapshot, StoreError>;
    async fn put_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    async fn delete_key(&self, hash: &KeyHash) -> Result<(), StoreError>;
    /// The message log, newest first.
    async fn messages(&self, tenant: Option<&TenantId>, limit: usize) -> Result<Vec<MessageRecord>, StoreError>;
}
