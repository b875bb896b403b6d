//! A per-instance cache of configuration reads: a warm function reads the
//! key, the tenant (with its sender's entry) and the extension once per
//! `CONFIG_CACHE_SECONDS`, not once per request.
//!
//! What it means: a key disabled, a tenant switched off or an extension
//! changed takes effect on a warm instance within that many seconds (30 by
//! default on AWS; 0 turns the cache off, as the embedded default runs).
//! Unknown keys are never cached, so a flood of wrong keys cannot fill it;
//! at most `MAX_ENTRIES` are kept.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::ttl_map::TtlMap;
use crate::domain::{
    ApiKey, Extension, ExtensionRecord, KeyHash, MessageRecord, Receipt, RecordingLink, SmsNumber, Tenant, TenantId,
};
use crate::ports::{
    Begun, End, Finished, Found, Lookup, MessagePage, MessageQuery, Received, Resume, Resumed, SharedClock, Start,
    Store, StoreError, Waiting,
};

const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Name {
    Key(KeyHash),
    Tenant(TenantId),
    Extension(TenantId, Extension),
}

#[derive(Clone)]
enum Entry {
    Key(ApiKey),
    Tenant(Option<Tenant>, Option<SmsNumber>),
    Extension(Option<ExtensionRecord>),
}

pub struct CachedStore {
    inner: Arc<dyn Store>,
    ttl_secs: i64,
    clock: SharedClock,
    entries: TtlMap<Name, Entry>,
}

impl CachedStore {
    pub fn new(inner: Arc<dyn Store>, ttl_secs: i64, clock: SharedClock) -> CachedStore {
        CachedStore { inner, ttl_secs, clock, entries: TtlMap::new(MAX_ENTRIES) }
    }

    fn fresh(&self, name: &Name, now: i64) -> Option<Entry> {
        self.entries.get(name, now)
    }

    fn keep(&self, name: Name, entry: Entry, now: i64) {
        self.entries.insert(name, entry, now + self.ttl_secs);
    }
}

impl CachedStore {
    /// What the cache holds of a lookup, and the lookup of the rest.
    fn split<'a>(&self, l: Lookup<'a>, now: i64) -> (Found, Lookup<'a>) {
        let mut found = Found::default();
        let mut missing = Lookup { number: l.number, ..Lookup::default() };
        if let Some(h) = l.key {
            match self.fresh(&Name::Key(h.clone()), now) {
                Some(Entry::Key(k)) => found.key = Some(k),
                _ => missing.key = Some(h),
            }
        }
        if let Some(t) = l.tenant {
            match self.fresh(&Name::Tenant(t.clone()), now) {
                Some(Entry::Tenant(tenant, sender)) => (found.tenant, found.sender) = (tenant, sender),
                _ => missing.tenant = Some(t),
            }
            if let Some(x) = l.extension {
                match self.fresh(&Name::Extension(t.clone(), x.clone()), now) {
                    Some(Entry::Extension(e)) => found.extension = e,
                    // Read under its tenant, as the store reads extensions.
                    _ => (missing.tenant, missing.extension) = (Some(t), Some(x)),
                }
            }
        }
        // A send reading its tenant, or leaving it to its key, shows the key
        // with it: the store may check the key and take the send's rate
        // slot in the same request.
        if l.send_at.is_some() && (missing.tenant.is_some() || (l.tenant.is_none() && missing.key.is_some())) {
            (missing.key, missing.send_at) = (l.key, l.send_at);
        }
        (found, missing)
    }

    /// Keeps what the store read for `missing` (of the lookup `l`), and adds
    /// it to what the cache had.
    fn merge(&self, l: Lookup<'_>, missing: Lookup<'_>, read: Found, found: &mut Found, now: i64) {
        if let (Some(h), Some(k)) = (missing.key, &read.key) {
            self.keep(Name::Key(h.clone()), Entry::Key(k.clone()), now);
            found.key = read.key.clone();
        }
        // A tenant asked for, or one the store found from the key alone
        // (DynamoDB's key directory) for a lookup that named none.
        let from_key = || l.tenant.is_none().then(|| read.tenant.as_ref().map(|t| t.id.clone())).flatten();
        if let Some(t) = missing.tenant.cloned().or_else(from_key) {
            self.keep(Name::Tenant(t.clone()), Entry::Tenant(read.tenant.clone(), read.sender.clone()), now);
            (found.tenant, found.sender) = (read.tenant, read.sender);
            if let Some(x) = missing.extension {
                self.keep(Name::Extension(t, x.clone()), Entry::Extension(read.extension.clone()), now);
                found.extension = read.extension;
            }
        }
        found.number = read.number;
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn lookup(&self, l: Lookup<'_>) -> Result<Found, StoreError> {
        let now = self.clock.now();
        let (mut found, missing) = self.split(l, now);
        if missing.key.is_none() && missing.tenant.is_none() && missing.number.is_none() {
            return Ok(found);
        }
        let read = self.inner.lookup(missing).await?;
        self.merge(l, missing, read, &mut found, now);
        Ok(found)
    }

    async fn begin(&self, start: &Start<'_>) -> Result<Begun, StoreError> {
        self.inner.begin(start).await
    }

    async fn finish(&self, end: &End<'_>) -> Result<Finished, StoreError> {
        self.inner.finish(end).await
    }

    async fn receive(&self, receipt: &Receipt) -> Result<Received, StoreError> {
        self.inner.receive(receipt).await
    }

    async fn page(&self, query: &MessageQuery<'_>) -> Result<MessagePage, StoreError> {
        self.inner.page(query).await
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        self.inner.message(id).await
    }

    async fn update_extension(&self, next: &ExtensionRecord, read: &ExtensionRecord) -> Result<bool, StoreError> {
        let written = self.inner.update_extension(next, read).await?;
        // This instance sees its own change at once.
        let name = Name::Extension(next.tenant.clone(), next.extension.clone());
        self.entries.remove(&name);
        Ok(written)
    }

    async fn link(&self, hash: &KeyHash) -> Result<Option<RecordingLink>, StoreError> {
        self.inner.link(hash).await
    }

    async fn waiting(&self, message_id: &str) -> Result<Option<Waiting>, StoreError> {
        self.inner.waiting(message_id).await
    }

    async fn resume(&self, resume: &Resume<'_>) -> Result<Resumed, StoreError> {
        self.inner.resume(resume).await
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.due(now, limit).await
    }
}
