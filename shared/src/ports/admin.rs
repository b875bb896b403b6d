//! What operators do: a whole configuration in and out, keys, the log, and
//! the console's own: its reads by page, changes with their audit entries,
//! sessions, failed sign-ins.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{
    ApiKey, Extension, ExtensionRecord, KeyHash, MessageRecord, MessageStatus, SmsNumber, Tenant, TenantId,
};

/// What the store holds, whole: what `apply` writes and `export` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub numbers: Vec<SmsNumber>,
    pub tenants: Vec<Tenant>,
    pub extensions: Vec<ExtensionRecord>,
    pub keys: Vec<ApiKey>,
}

/// A change, written all or nothing with what the audit log says of it:
/// the items of `snapshot` written over the stored ones, `delete_keys` gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub snapshot: Snapshot,
    pub delete_keys: Vec<KeyHash>,
    pub audit: Vec<AuditEntry>,
}

/// One change as the audit log keeps it: who, when, what, before and after
/// (JSON of the items, never a secret: keys appear without their hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Time-ordered (UUIDv7): entries of one second keep their order.
    pub id: String,
    /// Epoch seconds.
    pub at: i64,
    /// The operator key's name, or `smsctl <command>`.
    pub who: String,
    /// The tenant it concerns; `None` for the number registry and keys of
    /// several tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl AuditEntry {
    /// An entry now, its items as JSON (our types always serialize).
    pub fn of<T: Serialize>(
        who: &str,
        at: i64,
        tenant: Option<&TenantId>,
        what: String,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Self {
        let json = |v: Option<&T>| v.and_then(|v| serde_json::to_string(v).ok());
        AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            who: who.to_owned(),
            tenant: tenant.cloned(),
            what,
            before: json(before),
            after: json(after),
        }
    }
}

/// A console session as stored: the hash of its token, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub hash: KeyHash,
    /// The operator key it was opened with: checked again on every request,
    /// so a key disabled or deleted ends its sessions.
    pub key: KeyHash,
    /// Epoch seconds.
    pub created_at: i64,
    pub seen_at: i64,
    /// When it ends at the latest (its absolute expiry): the store may
    /// forget it from then on.
    pub expires_at: i64,
}

/// Which page of a list: items whose id starts with `prefix`, after `after`
/// (the last id of the page before), `limit` of them at most.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListQuery<'a> {
    pub prefix: &'a str,
    pub after: Option<&'a str>,
    pub limit: usize,
}

/// How many of a tenant's messages stand at `status` since a day began
/// (UTC, epoch seconds), as of their last change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub day: i64,
    pub status: MessageStatus,
    pub count: u32,
}

/// What operators do with `smsctl` and the console.
#[async_trait]
pub trait Admin: Send + Sync {
    /// Writes a change, all of it or nothing, idempotently; a key replaces
    /// any stored key of the same name.
    async fn record(&self, change: &Change) -> Result<(), StoreError>;
    async fn export(&self) -> Result<Snapshot, StoreError>;
    async fn keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// The message log, newest first.
    async fn messages(&self, tenant: Option<&TenantId>, limit: usize) -> Result<Vec<MessageRecord>, StoreError>;

    /// Tenants by id (in numeric order), a page at a time.
    async fn tenants(&self, query: ListQuery<'_>) -> Result<Vec<Tenant>, StoreError>;
    /// A tenant's extensions by number, a page at a time.
    async fn extensions(&self, tenant: &TenantId, query: ListQuery<'_>) -> Result<Vec<ExtensionRecord>, StoreError>;
    async fn extension(&self, tenant: &TenantId, x: &Extension) -> Result<Option<ExtensionRecord>, StoreError>;
    /// How many of a tenant's extensions have SMS notifications on and no
    /// SMS number (the guide's third voicemail requirement, unmet): all of
    /// them read, unless the store can count.
    async fn extensions_without_number(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        let all = self.extensions(tenant, ListQuery { prefix: "", after: None, limit: usize::MAX }).await?;
        Ok(all.iter().filter(|x| x.sms_notifications && x.sms_number.is_none()).count())
    }
    /// The whole number registry.
    async fn numbers(&self) -> Result<Vec<SmsNumber>, StoreError>;
    /// A tenant's messages whose last change falls on the days (UTC) from
    /// `since`'s through `until`'s, counted per day and status (stored
    /// statuses: `unknown` counts as `sending`).
    async fn daily_counts(&self, tenant: &TenantId, since: i64, until: i64) -> Result<Vec<DayCount>, StoreError>;
    /// The audit log, newest first: one tenant's, or (`None`) all of it.
    async fn audit(&self, tenant: Option<&TenantId>, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;

    async fn open_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn session(&self, hash: &KeyHash) -> Result<Option<Session>, StoreError>;
    /// Marks it seen at `seen_at` (its idle expiry starts again).
    async fn touch_session(&self, hash: &KeyHash, seen_at: i64) -> Result<(), StoreError>;
    async fn close_session(&self, hash: &KeyHash) -> Result<(), StoreError>;
    /// Counts a failed sign-in from `source` in the window of `window_secs`
    /// that `now` falls in, and answers how many there were in it so far.
    async fn failed_sign_in(&self, source: &str, now: i64, window_secs: i64) -> Result<u32, StoreError>;
    /// How many failed sign-ins from `source` that window has seen.
    async fn sign_in_failures(&self, source: &str, now: i64, window_secs: i64) -> Result<u32, StoreError>;

    /// A whole configuration, with no audit entry (what `apply` writes).
    async fn apply(&self, snapshot: &Snapshot, delete_keys: &[KeyHash]) -> Result<(), StoreError> {
        let change = Change { snapshot: snapshot.clone(), delete_keys: delete_keys.to_vec(), audit: Vec::new() };
        self.record(&change).await
    }

    async fn put_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.apply(&Snapshot { keys: vec![key.clone()], ..Snapshot::default() }, &[]).await
    }

    async fn delete_key(&self, hash: &KeyHash) -> Result<(), StoreError> {
        self.apply(&Snapshot::default(), std::slice::from_ref(hash)).await
    }
}
