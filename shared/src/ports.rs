//! Ports: what the service needs from a store and from an SMS gateway. The
//! adapters (SQLite and outbox, DynamoDB and SNS) implement them.

use async_trait::async_trait;

use crate::config::Snapshot;
use crate::domain::{
    ApiKey, E164, Extension, ExtensionRecord, KeyHash, MessageKind, MessageRecord, MessageText,
    RateLimits, SmsNumber, Tenant, TenantId, Window,
};

/// A store failure: the cause, for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

impl From<StoreError> for crate::Error {
    fn from(e: StoreError) -> Self {
        crate::Error::Storage(e.0)
    }
}

/// The items a request needs, all keys known up front, so an adapter can read
/// them in one round trip (DynamoDB `BatchGetItem`, one SQLite transaction).
#[derive(Debug, Default, Clone, Copy)]
pub struct Lookup<'a> {
    pub key: Option<&'a KeyHash>,
    pub tenant: Option<&'a TenantId>,
    /// An extension of `tenant`.
    pub extension: Option<&'a Extension>,
    pub number: Option<&'a E164>,
}

#[derive(Debug, Default, Clone)]
pub struct Found {
    pub key: Option<ApiKey>,
    pub tenant: Option<Tenant>,
    pub extension: Option<ExtensionRecord>,
    pub number: Option<SmsNumber>,
}

/// Someone else holds the claim on this id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Being worked on; the lease ends at this time (epoch seconds).
    Pending { fingerprint: String, lease_until: i64 },
    /// Finished, with the result that was recorded.
    Done { fingerprint: String, result: String },
}

/// The hot path: everything a send needs.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads the items named, in one round trip where the backend allows it.
    async fn lookup(&self, lookup: Lookup<'_>) -> Result<Found, StoreError>;

    /// Takes a claim on `id` (a voicemail's identity, or an Idempotency-Key)
    /// for `lease_secs`: `None` when this caller now holds it, otherwise who
    /// holds it. An expired pending claim can be taken over. Atomic: of
    /// concurrent callers exactly one gets `None`.
    async fn claim(&self, id: &str, fingerprint: &str, now: i64, lease_secs: i64)
        -> Result<Option<Held>, StoreError>;

    /// Marks a held claim done with its result, kept for `keep_secs`.
    async fn finish_claim(&self, id: &str, result: &str, now: i64, keep_secs: i64)
        -> Result<(), StoreError>;

    /// Lets go of a pending claim so that a retry can take it.
    async fn release_claim(&self, id: &str) -> Result<(), StoreError>;

    /// Counts one SMS against the tenant's limits, atomically: `Some(window)`
    /// (and nothing counted) when that window is already full.
    async fn take_rate(&self, tenant: &TenantId, limits: RateLimits, now: i64)
        -> Result<Option<Window>, StoreError>;

    /// Appends to the message log, kept `keep_secs`.
    async fn record_message(&self, record: &MessageRecord, keep_secs: i64) -> Result<(), StoreError>;
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
    async fn messages(&self, tenant: Option<&TenantId>, limit: usize)
        -> Result<Vec<MessageRecord>, StoreError>;
}

/// One SMS to send.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    pub tenant: &'a TenantId,
    pub kind: MessageKind,
    pub from: &'a E164,
    pub to: &'a E164,
    pub text: &'a MessageText,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The destination opted out of SMS: final, not retried.
    #[error("destination opted out: {0}")]
    OptedOut(String),
    /// The provider refused the request (invalid parameter and the like).
    #[error("rejected: {0}")]
    Rejected(String),
    /// Throttled, unreachable, timed out: worth a retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<GatewayError> for crate::Error {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::OptedOut(_) => crate::Error::OptedOut,
            GatewayError::Rejected(c) => crate::Error::ProviderRejected(c),
            GatewayError::Unavailable(c) => crate::Error::ProviderUnavailable(c),
        }
    }
}

#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// Sends one SMS; the provider's message id on success.
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, GatewayError>;

    /// Whether the destination has opted out of SMS.
    async fn opted_out(&self, to: &E164) -> Result<bool, GatewayError>;
}
