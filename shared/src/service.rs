//! The service: the contract's checks in their order, then the send. The APIs
//! and the trigger only parse and map; every rule lives here (the checks in
//! [`rules`], the steps of a send in `steps`).

mod rules;
mod steps;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::domain::{
    E164, Encoding, Extension, KeyHash, MessageKind, MessageStatus, MessageText, Receipt, TenantId,
    VoicemailDetails,
};
use crate::error::{Error, Result};
use crate::ports::{Begun, Held, Received, SmsGateway, Store};
pub use rules::fingerprint;
use rules::{authorize, check_voicemail, default_voicemail_text, voicemail_text};
use steps::Work;

/// Which API a request came through: they differ in one text and in how a
/// tenant is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiStyle {
    /// PBXware-compatible `GET /` and `POST /`.
    Action,
    /// `POST /api/sms/...`.
    Rest,
}

/// What an API request asks for, once its shape was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAction {
    Send { to: E164, text: MessageText },
    VoicemailNotify { extension: Extension, text: Option<MessageText> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// `server`: required in the action API; in the REST API only for keys
    /// scoped to several tenants.
    pub tenant: Option<TenantId>,
    pub action: ApiAction,
}

/// An API call as it arrived: the key is checked before the shape (contract
/// check 1 before check 2), so the shape's verdict travels alongside.
#[derive(Debug, Clone)]
pub struct ApiCall {
    pub style: ApiStyle,
    pub key: Option<String>,
    pub request: Result<ApiRequest>,
    /// REST `Idempotency-Key` header, with a fingerprint of the request it
    /// came with.
    pub idempotency: Option<(String, String)>,
    /// The invocation's deadline (epoch milliseconds), when one is known.
    pub deadline: Option<u64>,
}

/// A sent SMS, as the APIs report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub id: String,
    pub from: String,
    pub to: String,
    pub segments: usize,
    pub encoding: Encoding,
}

/// A voicemail, from whichever event announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voicemail {
    /// What makes it unique across deliveries and paths: bucket, key and
    /// version or sequencer; or tenant and the PBX's message id (else the
    /// event's id) for a `New Voicemail` event.
    pub identity: String,
    pub tenant: TenantId,
    pub extension: Extension,
    pub details: VoicemailDetails,
    /// The S3 object, when the voicemail came from one (its metadata may
    /// fill the template).
    pub object: Option<S3Object>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

/// What the trigger did with one voicemail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent(Sent),
    /// Does not qualify, or was refused for good: recorded with its reason
    /// in the message log, and not retried.
    Skipped(String),
    /// Another delivery of the same voicemail finished it.
    Duplicate,
    /// Another delivery holds it until its lease ends (epoch seconds): its
    /// run may still be under way, or may have died. Reported as a failure
    /// so that the platform delivers it again later.
    InFlight { lease_until: i64 },
}

/// Fills in what a template needs beyond the event (S3 object metadata).
/// Never fails: what cannot be read is left unknown.
#[async_trait::async_trait]
pub trait DetailsSource: Send + Sync {
    async fn complete(&self, voicemail: &mut Voicemail);
}

/// Tunables, from the environment at cold start.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long the message log keeps an entry.
    pub message_log_days: u32,
    /// A claim's lease when the invocation's deadline is unknown (the local
    /// server). With a deadline, the lease ends [`LEASE_MARGIN_SECS`] after it.
    pub claim_lease_secs: i64,
    /// How long a finished claim (and an Idempotency-Key) is remembered.
    pub dedup_keep_secs: i64,
    /// Ask the provider whether the destination opted out before sending.
    pub check_opt_out: bool,
}

/// How long a claim outlives its holder's deadline: the clocks of two
/// instances may differ a little, and a process may take a moment to stop.
pub const LEASE_MARGIN_SECS: i64 = 10;

impl Default for Policy {
    fn default() -> Self {
        Policy { message_log_days: 90, claim_lease_secs: 120, dedup_keep_secs: 7 * 86_400, check_opt_out: true }
    }
}

pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    gateway: Arc<dyn SmsGateway>,
    details: Option<Arc<dyn DetailsSource>>,
    policy: Policy,
    clock: Clock,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, gateway: Arc<dyn SmsGateway>, policy: Policy) -> Self {
        Service { store, gateway, details: None, policy, clock: system_clock() }
    }

    pub fn with_details(mut self, details: Arc<dyn DetailsSource>) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Both APIs: checks 1 to 6 in the contract's order.
    pub async fn api(&self, call: ApiCall) -> Result<Sent> {
        let hash = call.key.as_deref().and_then(KeyHash::of_presented);
        let (mut found, named) = self.read_for_api(hash.as_ref(), call.request.as_ref().ok()).await?;
        // 1. The key.
        let key = match (&hash, found.key.take()) {
            (Some(h), Some(k)) if k.enabled && k.hash.matches(h) => k,
            _ => return Err(Error::InvalidApiKey),
        };
        // 2. The shape.
        let request = call.request?;
        let tenant_id = match (request.tenant, key.tenants.single()) {
            (Some(t), _) => t,
            (None, Some(t)) if call.style == ApiStyle::Rest => t.clone(),
            (None, _) => return Err(Error::MissingField("server")),
        };
        // 3. The key's rights.
        authorize(&key, &tenant_id)?;
        // 4. The tenant, read now if the request did not name it.
        let extension = match &request.action {
            ApiAction::VoicemailNotify { extension, .. } => Some(extension),
            ApiAction::Send { .. } => None,
        };
        let found = match named {
            Some(t) if t == tenant_id => found,
            _ => self.read_tenant(&tenant_id, extension).await?,
        };
        let tenant = found.tenant.ok_or_else(|| Error::UnknownTenant(tenant_id.to_string()))?;
        if !tenant.active {
            return Err(Error::TenantInactive);
        }
        if !tenant.api_enabled {
            return Err(Error::ApiDisabled);
        }
        let checked = self.check_sender(tenant).await?;
        let (to, text, kind) = match request.action {
            ApiAction::Send { to, text } => (to, text, MessageKind::Api),
            ApiAction::VoicemailNotify { extension, text } => {
                // 5. Voicemail only.
                let to = check_voicemail(&checked.tenant, &extension, found.extension.as_ref())?;
                let text = text.unwrap_or_else(|| voicemail_text(&checked.tenant, &VoicemailDetails::new(&extension)));
                (to, text, MessageKind::Voicemail)
            }
        };
        // 6. Send, once per Idempotency-Key; every API request counts
        // against the API's budget.
        checked.allows(&to)?;
        let mut work = Work::api(self, &checked, &to, &text, kind, call.idempotency.as_ref(), call.deadline);
        match work.begin(MessageKind::Api).await? {
            Begun::Started => {}
            Begun::Held(held) if Some(held.fingerprint()) != work.fingerprint() => return Err(Error::IdempotencyMismatch),
            Begun::Held(Held::Done { result, .. }) => {
                return serde_json::from_str(&result).map_err(|e| Error::Internal(e.to_string()));
            }
            Begun::Held(Held::Pending { .. }) => return Err(Error::IdempotencyInProgress),
            Begun::Limited(window) => return Err(work.rate_limited(window)),
        }
        let sent = work.send(&text).await;
        work.end(&sent).await;
        sent
    }

    /// The trigger: a voicemail that qualifies gets exactly one SMS; one
    /// that does not is recorded as skipped, with its reason.
    pub async fn voicemail(&self, mut voicemail: Voicemail, deadline: Option<u64>) -> Result<Outcome> {
        let found = self.read_tenant(&voicemail.tenant, Some(&voicemail.extension)).await?;
        let mut work = Work::voicemail(self, &voicemail, deadline);
        let qualified = async {
            let tenant = found.tenant.ok_or_else(|| Error::UnknownTenant(voicemail.tenant.to_string()))?;
            if !tenant.active {
                return Err(Error::TenantInactive);
            }
            let checked = self.check_sender(tenant).await?;
            let to = check_voicemail(&checked.tenant, &voicemail.extension, found.extension.as_ref())?;
            Ok((checked, to))
        };
        let (checked, to) = match qualified.await {
            Ok(ok) => ok,
            Err(e) if e.is_infrastructure() => return Err(e),
            Err(e) => return work.conclude(MessageStatus::Skipped, &e).await,
        };
        work.address(&checked, &to);
        if let Err(e) = checked.allows(&to) {
            return work.conclude(MessageStatus::Refused, &e).await;
        }
        match work.begin(MessageKind::Voicemail).await? {
            Begun::Started => {}
            Begun::Held(Held::Done { .. }) => return Ok(Outcome::Duplicate),
            Begun::Held(Held::Pending { lease_until, .. }) => return Ok(Outcome::InFlight { lease_until }),
            Begun::Limited(window) => {
                let e = work.rate_limited(window);
                // A full minute delays the voicemail; a full day refuses it.
                return if e.is_retryable() { Err(e) } else { work.conclude(MessageStatus::Refused, &e).await };
            }
        }
        if checked.tenant.voicemail_template.as_ref().is_some_and(|t| t.needs_details()) {
            if let Some(source) = &self.details {
                source.complete(&mut voicemail).await;
            }
        }
        let text = match &checked.tenant.voicemail_template {
            Some(_) => voicemail_text(&checked.tenant, &voicemail.details),
            None => default_voicemail_text(),
        };
        let sent = work.send(&text).await;
        work.end(&sent).await;
        match sent {
            Ok(sent) => Ok(Outcome::Sent(sent)),
            Err(e) if e.is_retryable() => Err(e),
            Err(e) => Ok(Outcome::Skipped(e.to_string())),
        }
    }

    /// A delivery receipt: the message it names moves to `delivered` or
    /// `failed`, once.
    pub async fn receipt(&self, receipt: &Receipt) -> Result<Received> {
        Ok(self.store.receive(receipt).await?)
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }
}
