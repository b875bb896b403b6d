//! The store the service reads and writes on the hot path.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::Voicemail;

use crate::domain::{
    ApiKey, Cursor, E164, Extension, ExtensionRecord, KeyHash, MessageKind, MessageRecord, MessageStatus, QuietHours,
    RateLimits, Receipt, RecordingLink, SmsNumber, Tenant, TenantId, Window,
};

/// A store failure: the cause, for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

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
    /// The same for every try of one end (1 to 36 of `[A-Za-z0-9-]`): a
    /// store that can (DynamoDB's `ClientRequestToken`) does not do twice
    /// what a try did before its answer was lost.
    pub token: &'a str,
    /// A voicemail's wait (for its transcript, or its quiet hours' end),
    /// begun or ended with this end.
    pub wait: Option<WaitChange<'a>>,
    /// The held voicemails a digest carries, ended with it in the same
    /// write; none for any other message.
    pub members: &'a [Member<'a>],
    /// Send attempts this end counts on the entry (and on each member's)
    /// beyond what its start counted: 1 for a send after a resume or in a
    /// digest (neither's take counts one), -1 for a park (its start
    /// counted the send it puts off), else 0.
    pub attempts: i64,
}

/// A held voicemail sent in a digest: its log entry, and its claim closed
/// as the digest's is (finished: its wait goes too; released: its wait
/// stays, due for the retry).
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub record: &'a MessageRecord,
    pub claim: Closing<'a>,
}

/// What an end does to a voicemail's wait.
#[derive(Debug, Clone, Copy)]
pub enum WaitChange<'a> {
    /// Begins it, or writes it anew (the claim is finished as
    /// `transcribing` or `held`, so that a redelivery of the voicemail is a
    /// duplicate).
    Park(&'a Waiting),
    /// Ends the wait of this message id, once the claim is finished; a
    /// released claim leaves it, due when its lease ends, for a retry.
    Drop(&'a str),
}

/// A voicemail waiting for its transcript, or held by its extension's
/// quiet hours: what its second phase needs, and when it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// Its log entry's id (`vm-…`), which also names its transcription job.
    pub message_id: String,
    /// Its claim's id (`vm#<identity>`).
    pub claim: String,
    /// With the details found in the first phase (and no recording link:
    /// the second phase makes its own).
    pub voicemail: Voicemail,
    /// When the scheduled sender sends it, transcript or not (epoch seconds).
    pub due: i64,
    /// Held by quiet hours (else it waits for its transcript).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Hold>,
}

impl Waiting {
    /// The claim result it is parked under.
    pub fn status(&self) -> MessageStatus {
        if self.held.is_some() { MessageStatus::Held } else { MessageStatus::Transcribing }
    }
}

/// Why a voicemail is held: since when (its time in a digest), and the
/// quiet hours that hold it (their zone tells the time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub since: i64,
    /// When the quiet hours end (epoch seconds).
    pub until: i64,
    pub quiet: QuietHours,
}

/// The second phase takes waiting voicemails' claims: from `transcribing`
/// or `held`, released (a retry), or pending past its lease (a run that
/// died); each wait is then due again when this lease ends, so that a run
/// that dies now is picked up. Several (a digest's): all or none.
#[derive(Debug, Clone, Copy)]
pub struct Resume<'a> {
    pub waits: &'a [Waiting],
    pub token: &'a str,
    pub lease_until: i64,
    pub now: i64,
    /// A fresh link to the recording the message will carry.
    pub link: Option<&'a RecordingLink>,
}

/// How a resume went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    Started,
    /// The claim is someone else's (pending within its lease), or finished
    /// (sent or refused).
    Held(Held),
}

/// What ending a message found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Written now.
    Done,
    /// Written already, by an earlier try of this same end whose answer
    /// was lost: nothing written again.
    AlreadyDone,
    /// The claim is another delivery's (it took it over after the lease):
    /// nothing written.
    TakenOver,
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

    /// Ends a started message, idempotently: tried again after a failure,
    /// it finds what an earlier try wrote and writes nothing twice.
    async fn finish(&self, end: &End<'_>) -> Result<Finished, StoreError>;

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

    /// A voicemail waiting for its transcript, by its message id.
    async fn waiting(&self, message_id: &str) -> Result<Option<Waiting>, StoreError>;

    /// Takes waiting voicemails' claims for their second phase, all in one
    /// transaction (none when one is held by another).
    async fn resume(&self, resume: &Resume<'_>) -> Result<Resumed, StoreError>;

    /// The message ids of the waiting (and held) voicemails due by `now`, at most
    /// `limit`, soonest first: read through an index on the due time,
    /// never a scan.
    async fn due(&self, now: i64, limit: usize) -> Result<Vec<String>, StoreError>;
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
