//! Ports: what the service needs from a store and from an SMS gateway. The
//! adapters (SQLite and outbox, DynamoDB and SNS) implement them.

use async_trait::async_trait;

use crate::config::Snapshot;
use crate::domain::{
    ApiKey, Cursor, E164, Extension, ExtensionRecord, KeyHash, MessageKind, MessageRecord,
    MessageStatus, MessageText, RateLimits, Receipt, RecordingLink, SmsNumber, Tenant, TenantId, Window,
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
/// A tenant comes with its sender number's registry entry. A store may
/// also bring the tenant a key names when the lookup names none (DynamoDB's
/// key directory); the caller checks it is the tenant it wants.
#[derive(Debug, Default, Clone, Copy)]
pub struct Lookup<'a> {
    pub key: Option<&'a KeyHash>,
    pub tenant: Option<&'a TenantId>,
    /// An extension of `tenant`.
    pub extension: Option<&'a Extension>,
    pub number: Option<&'a E164>,
    /// The request means to send now (epoch seconds) on the API's budget,
    /// with `key`: a store may take one slot of that budget in the same
    /// round trip, held for this instance's next `begin` (DynamoDB does,
    /// when it holds no slot of the tenant's).
    pub send_at: Option<i64>,
}

#[derive(Debug, Default, Clone)]
pub struct Found {
    pub key: Option<ApiKey>,
    pub tenant: Option<Tenant>,
    /// The registry's entry of the tenant's sender number, read with it:
    /// `None` without a sender, or for a number not in the registry.
    pub sender: Option<SmsNumber>,
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

impl Held {
    pub fn fingerprint(&self) -> &str {
        match self {
            Held::Pending { fingerprint, .. } | Held::Done { fingerprint, .. } => fingerprint,
        }
    }
}

/// A claim on one piece of work (a voicemail's SMS, an Idempotency-Key's
/// request): who holds it does it; every other delivery finds it.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// `vm#<voicemail identity>` or `idem#<tenant>#<key hash>`.
    pub id: &'a str,
    /// What the work is (a request body's hash): a claim reused for other
    /// work is told apart.
    pub fingerprint: &'a str,
    /// The holder's own token: only the holder can finish or release it.
    pub token: &'a str,
    /// Until when the holder may still run (epoch seconds); after that a
    /// pending claim can be taken over.
    pub lease_until: i64,
    /// How long a finished claim is remembered.
    pub keep_secs: i64,
}

/// What starting a message writes, all or nothing: its claim (taken, or
/// found held), one slot of its tenant's budget, and its log entry.
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// The log entry: `sending` when a send follows; a final status when
    /// the work ends here (a skipped voicemail), which finishes the claim.
    pub record: &'a MessageRecord,
    pub claim: Option<Claim<'a>>,
    /// The budget charged and its limits; none for work that sends nothing.
    pub budget: Option<(MessageKind, RateLimits)>,
    pub now: i64,
    /// How long the log entry is kept.
    pub log_keep_secs: i64,
    /// A link to the recording the message will carry.
    pub link: Option<&'a RecordingLink>,
}

/// How a start went. Only `Started` wrote anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    Started,
    /// The claim is someone else's.
    Held(Held),
    /// This window of the budget is full.
    Limited(Window),
}

/// How a started message ended: its log entry's final state, and its claim
/// finished (`result` kept, redeliveries are duplicates) or released (a
/// retry takes it again). Written only while the claim is still the
/// holder's.
#[derive(Debug, Clone, Copy)]
pub struct End<'a> {
    pub record: &'a MessageRecord,
    pub claim: Option<Closing<'a>>,
    pub now: i64,
    pub log_keep_secs: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Closing<'a> {
    pub id: &'a str,
    pub token: &'a str,
    /// `Some`: finished with this result; `None`: released.
    pub result: Option<&'a str>,
    pub keep_secs: i64,
}

/// The hot path: everything a send needs.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads the items named, in one round trip where the backend allows it.
    async fn lookup(&self, lookup: Lookup<'_>) -> Result<Found, StoreError>;

    /// Starts a message, atomically (one transaction): of concurrent
    /// starts on one claim exactly one gets `Started`. A claim is takeable
    /// when absent, expired, or pending with its lease run out. A budget is
    /// a stored tenant's (DynamoDB keeps its counters on the tenant's item).
    async fn begin(&self, start: &Start<'_>) -> Result<Begun, StoreError>;

    /// Ends a started message; `false` (and nothing written) when its claim
    /// is no longer this holder's: it was taken over after the lease.
    async fn finish(&self, end: &End<'_>) -> Result<bool, StoreError>;

    /// Applies a delivery receipt to the message its provider id names
    /// (found with one read), unless it already has one.
    async fn receive(&self, receipt: &Receipt) -> Result<Received, StoreError>;

    /// A page of a tenant's message log, newest first: one query on the
    /// tenant and the time range, never a scan.
    async fn page(&self, query: &MessageQuery<'_>) -> Result<MessagePage, StoreError>;

    /// One message by its id.
    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError>;

    /// Writes an extension's new settings over the ones `read`: `false`
    /// (nothing written) when it changed or went since.
    async fn update_extension(&self, next: &ExtensionRecord, read: &ExtensionRecord) -> Result<bool, StoreError>;

    /// The recording link stored under this token hash (kept until it
    /// expires; the caller checks the time).
    async fn link(&self, hash: &KeyHash) -> Result<Option<RecordingLink>, StoreError>;
}

/// Where a recording is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recording {
    /// A short-lived URL (S3, presigned now).
    Redirect(String),
    /// The audio itself (the local folder).
    Audio { content_type: &'static str, bytes: Vec<u8> },
}

/// Recordings, for links that last: a fresh way to them at each click.
#[async_trait]
pub trait Recordings: Send + Sync {
    /// `None`: the recording is no longer there.
    async fn open(&self, link: &RecordingLink) -> Result<Option<Recording>, StoreError>;
}

/// Which entries of a tenant's log: a time range (epoch seconds, both
/// ends included), optional filters, a page size, and where the last page
/// ended.
#[derive(Debug, Clone, Copy)]
pub struct MessageQuery<'a> {
    pub tenant: &'a TenantId,
    pub since: i64,
    pub until: i64,
    pub status: Option<MessageStatus>,
    /// Sender, destination: +E.164.
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub limit: usize,
    pub after: Option<&'a Cursor>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessagePage {
    pub messages: Vec<MessageRecord>,
    /// Where the next page starts; `None` at the end. A page may hold fewer
    /// than `limit` entries and still have a next one (filters apply after
    /// the store's own page).
    pub next: Option<Cursor>,
}

/// What a delivery receipt did.
// Answered once per receipt and consumed at once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// The message, as it is now.
    Applied(MessageRecord),
    /// No message has this provider id (not ours, or its entry expired).
    Unknown,
    /// The message has its receipt already.
    Repeated,
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
    /// The provider refused this message for good (an invalid parameter:
    /// the number, the text): final, not retried.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Anything a retry may cure: throttled, unreachable, timed out, a 5xx,
    /// a permission missing until an operator adds it.
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
    /// Who carries the SMS, as reports name it.
    fn provider(&self) -> &'static str;

    /// Sends one SMS; the provider's message id on success.
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, GatewayError>;

    /// Whether the destination has opted out of SMS.
    async fn opted_out(&self, to: &E164) -> Result<bool, GatewayError>;

    /// Opens the connection before the first send (the init phase's
    /// pre-warm). Never fails: the first send connects if this could not.
    async fn prewarm(&self) {}
}
