//! The service: the contract's checks in their order, then the send. The APIs
//! and the trigger only parse and map; every rule lives here (the checks in
//! [`rules`], the steps of a send in `steps`).

mod requests;
mod rules;
mod steps;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::domain::{
    E164, Extension, ExtensionRecord, KeyHash, LinkToken, MessageKind, MessageStatus, MessageText, Receipt,
    TenantId, VoicemailDetails,
};
use crate::error::{Error, Result};
use crate::metrics::{Event, Metrics, NoMetrics, reason};
use crate::ports::{Begun, Held, MessageQuery, Received, Recording, Recordings, SmsGateway, Store};
pub use requests::{
    Answer, ApiAction, ApiCall, ApiRequest, ApiStyle, E164Digits, Names, PageQuery, ReportQuery, Sent,
};
pub use rules::fingerprint;
use rules::{Checked, authorize, check_voicemail, default_voicemail_text, voicemail_text};
use steps::Work;

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
    /// Links to recordings for `{recording_url}`; none configured, the
    /// placeholder reads `unknown`.
    pub recording_links: Option<LinkPolicy>,
}

/// Where recording links point and how long they work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPolicy {
    /// The recording-link endpoint, ending in `/`: `https://…/r/`.
    pub base_url: String,
    pub days: u32,
}

/// The most messages one report answers (PBXware's reports have no pages).
pub const MAX_REPORT: usize = 1000;

/// An API request past checks 1 to 4.
struct Admitted {
    request: ApiRequest,
    checked: Checked,
    /// The extension the request names, as stored.
    extension: Option<ExtensionRecord>,
    idempotency: Option<(String, String)>,
    deadline: Option<u64>,
}

/// How long a claim outlives its holder's deadline: the clocks of two
/// instances may differ a little, and a process may take a moment to stop.
pub const LEASE_MARGIN_SECS: i64 = 10;

impl Default for Policy {
    fn default() -> Self {
        Policy {
            message_log_days: 90,
            claim_lease_secs: 120,
            dedup_keep_secs: 7 * 86_400,
            check_opt_out: true,
            recording_links: None,
        }
    }
}

pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    /// None for a function that sends no SMS (its bootstrap then carries
    /// no SMS client).
    gateway: Option<Arc<dyn SmsGateway>>,
    details: Option<Arc<dyn DetailsSource>>,
    recordings: Option<Arc<dyn Recordings>>,
    metrics: Arc<dyn Metrics>,
    policy: Policy,
    clock: Clock,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, gateway: Arc<dyn SmsGateway>, policy: Policy) -> Self {
        Service { gateway: Some(gateway), ..Self::without_sms(store, policy) }
    }

    /// For the functions that never send (delivery receipts, recording links).
    pub fn without_sms(store: Arc<dyn Store>, policy: Policy) -> Self {
        Service { store, gateway: None, details: None, recordings: None, metrics: Arc::new(NoMetrics), policy, clock: system_clock() }
    }

    fn gateway(&self) -> Result<&dyn SmsGateway> {
        self.gateway.as_deref().ok_or_else(|| Error::Internal("this function was started without an SMS gateway".to_owned()))
    }

    pub fn with_details(mut self, details: Arc<dyn DetailsSource>) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_recordings(mut self, recordings: Arc<dyn Recordings>) -> Self {
        self.recordings = Some(recordings);
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Both APIs: checks 1 to 4 in the contract's order, then what the
    /// request asks for.
    pub async fn api(&self, call: ApiCall<'_>) -> Result<Answer> {
        let Admitted { request, checked, extension, idempotency, deadline } = self.admit(call).await?;
        let tenant = &checked.tenant.id;
        match request.action {
            ApiAction::Send { to, text } => {
                Ok(Answer::Sent(self.api_send(&checked, to, text, MessageKind::Api, idempotency, deadline).await?))
            }
            ApiAction::VoicemailNotify { extension: x, text } => {
                // 5. Voicemail only.
                let to = check_voicemail(&checked.tenant, &x, extension.as_ref())?;
                let text = text.unwrap_or_else(|| voicemail_text(&checked.tenant, &VoicemailDetails::new(&x)));
                Ok(Answer::Sent(self.api_send(&checked, to, text, MessageKind::Voicemail, idempotency, deadline).await?))
            }
            ApiAction::Reports(q) => self.reports(tenant, q).await,
            ApiAction::Messages(q) => self.messages(tenant, q).await,
            ApiAction::Message(id) => self.message(tenant, &id).await,
            ApiAction::ExtensionService { extension: x, set } => self.extension_service(&x, extension, set).await,
        }
    }

    /// Checks 1 to 4: the key, the shape, the key's rights, the tenant.
    async fn admit(&self, call: ApiCall<'_>) -> Result<Admitted> {
        let hash = call.key.as_deref().and_then(KeyHash::of_presented);
        let mut found = self.read_for_api(hash.as_ref(), &call.names, call.idempotency.is_some()).await?;
        // 1. The key.
        let key = match (&hash, found.key.take()) {
            (Some(h), Some(k)) if k.enabled && k.hash.matches(h) => k,
            _ => return Err(Error::InvalidApiKey),
        };
        // 2. The shape, only now. Reports and the REST API may leave the
        // tenant to a key that has only one.
        let request = (call.shape)()?;
        let implied = call.style == ApiStyle::Rest || matches!(request.action, ApiAction::Reports(_));
        let tenant_id = match (&request.tenant, key.tenants.single()) {
            (Some(t), _) => t.clone(),
            (None, Some(t)) if implied => t.clone(),
            (None, _) => return Err(Error::MissingField("server")),
        };
        // 3. The key's rights.
        authorize(&key, &tenant_id, &request.action)?;
        // 4. The tenant, read now if the request did not name it (and the
        // store did not find it from the key).
        let named = call.names.tenant.as_ref() == Some(&tenant_id) && call.names.extension.as_ref() == request.action.extension();
        let from_key = found.tenant.as_ref().is_some_and(|t| t.id == tenant_id) && request.action.extension().is_none();
        let read_already = named || from_key;
        let sending = matches!(request.action, ApiAction::Send { .. }) && call.idempotency.is_none();
        let found = match read_already {
            true => found,
            false => self.read_tenant(&tenant_id, request.action.extension(), sending.then_some(&key.hash)).await?,
        };
        let tenant = found.tenant.ok_or_else(|| Error::UnknownTenant(tenant_id.to_string()))?;
        if !tenant.active {
            return Err(Error::TenantInactive);
        }
        if !tenant.api_enabled {
            return Err(Error::ApiDisabled);
        }
        let checked = self.check_sender(tenant, found.sender)?;
        Ok(Admitted { request, checked, extension: found.extension, idempotency: call.idempotency, deadline: call.deadline })
    }

    /// Check 6 for both send endpoints: once per Idempotency-Key, against
    /// the API's budget.
    async fn api_send(
        &self,
        checked: &Checked,
        to: E164,
        text: MessageText,
        kind: MessageKind,
        idempotency: Option<(String, String)>,
        deadline: Option<u64>,
    ) -> Result<Sent> {
        if let Err(e) = checked.allows(&to) {
            self.metrics.record(&Event::Refused { kind, reason: reason(&e) });
            return Err(e);
        }
        let mut work = Work::api(self, checked, &to, &text, kind, idempotency.as_ref(), deadline);
        match work.begin(MessageKind::Api).await? {
            Begun::Started => {}
            Begun::Held(held) if Some(held.fingerprint()) != work.fingerprint() => return Err(Error::IdempotencyMismatch),
            Begun::Held(Held::Done { result, .. }) => {
                self.metrics.record(&Event::Duplicate { kind });
                return serde_json::from_str(&result).map_err(|e| Error::Internal(e.to_string()));
            }
            Begun::Held(Held::Pending { .. }) => return Err(Error::IdempotencyInProgress),
            Begun::Limited(window) => return Err(work.rate_limited(window)),
        }
        let sent = work.send(&text).await;
        work.end(&sent).await;
        sent
    }

    /// PBXware's SMS reports: the range's messages, newest first, at most
    /// [`MAX_REPORT`].
    async fn reports(&self, tenant: &TenantId, q: ReportQuery) -> Result<Answer> {
        let mut messages = Vec::new();
        let (from, to) = (q.from.as_ref().map(E164Digits::as_e164), q.to.as_ref().map(E164Digits::as_e164));
        let mut after = None;
        while q.matches_kind && messages.len() < MAX_REPORT {
            let query = MessageQuery {
                tenant,
                since: q.since,
                until: q.until,
                status: None,
                from: from.as_deref(),
                to: to.as_deref(),
                limit: MAX_REPORT - messages.len(),
                after: after.as_ref(),
            };
            let page = self.store.page(&query).await?;
            messages.extend(page.messages);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(Answer::Reports { messages, provider: self.gateway()?.provider() })
    }

    /// A page of the message log; by default of the last 30 days.
    async fn messages(&self, tenant: &TenantId, q: PageQuery) -> Result<Answer> {
        let until = q.until.unwrap_or_else(|| self.now());
        let query = MessageQuery {
            tenant,
            since: q.since.unwrap_or(until - 30 * 86_400),
            until,
            status: q.status,
            from: None,
            to: q.to.as_ref().map(E164::as_str),
            limit: q.limit,
            after: q.after.as_ref(),
        };
        Ok(Answer::Page(self.store.page(&query).await?))
    }

    /// One message, if it is this tenant's: another tenant's is unknown.
    async fn message(&self, tenant: &TenantId, id: &str) -> Result<Answer> {
        match self.store.message(id).await? {
            Some(m) if &m.tenant == tenant => Ok(Answer::Message(m)),
            _ => Err(Error::UnknownMessage(id.to_owned())),
        }
    }

    /// The per-extension enhanced service: its state, or set to `set`.
    async fn extension_service(&self, x: &Extension, record: Option<ExtensionRecord>, set: Option<bool>) -> Result<Answer> {
        // 5. The extension.
        let record = record.ok_or_else(|| Error::UnknownExtension(x.to_string()))?;
        let on = set.unwrap_or(record.sms_notifications);
        if on != record.sms_notifications {
            let next = ExtensionRecord { sms_notifications: on, ..record.clone() };
            if !self.store.update_extension(&next, &record).await? {
                return Err(Error::Internal(format!("extension {x} changed while it was being set")));
            }
            tracing::info!(tenant = %record.tenant, extension = %x, on, "extension's SMS notifications set");
        }
        Ok(if set.is_some() { Answer::ExtensionSet { on } } else { Answer::ExtensionState { on } })
    }

    /// The trigger: a voicemail that qualifies gets exactly one SMS; one
    /// that does not is recorded as skipped, with its reason.
    pub async fn voicemail(&self, mut voicemail: Voicemail, deadline: Option<u64>) -> Result<Outcome> {
        let found = self.read_tenant(&voicemail.tenant, Some(&voicemail.extension), None).await?;
        let mut work = Work::voicemail(self, &voicemail, deadline);
        let qualified = || {
            let tenant = found.tenant.ok_or_else(|| Error::UnknownTenant(voicemail.tenant.to_string()))?;
            if !tenant.active {
                return Err(Error::TenantInactive);
            }
            let checked = self.check_sender(tenant, found.sender)?;
            let to = check_voicemail(&checked.tenant, &voicemail.extension, found.extension.as_ref())?;
            Ok((checked, to))
        };
        let (checked, to) = match qualified() {
            Ok(ok) => ok,
            Err(e) if e.is_infrastructure() => return Err(e),
            Err(e) => return work.conclude(MessageStatus::Skipped, &e).await,
        };
        work.address(&checked, &to);
        if let Err(e) = checked.allows(&to) {
            return work.conclude(MessageStatus::Refused, &e).await;
        }
        if checked.tenant.voicemail_template.as_ref().is_some_and(|t| t.needs_recording())
            && let Some(url) = work.link_recording(&voicemail) {
                voicemail.details.set_recording_url(url);
            }
        match work.begin(MessageKind::Voicemail).await? {
            Begun::Started => {}
            Begun::Held(Held::Done { .. }) => {
                self.metrics.record(&Event::Duplicate { kind: MessageKind::Voicemail });
                return Ok(Outcome::Duplicate);
            }
            Begun::Held(Held::Pending { lease_until, .. }) => return Ok(Outcome::InFlight { lease_until }),
            Begun::Limited(window) => {
                let e = work.rate_limited(window);
                // A full minute delays the voicemail; a full day refuses it.
                return if e.is_retryable() { Err(e) } else { work.conclude(MessageStatus::Refused, &e).await };
            }
        }
        if checked.tenant.voicemail_template.as_ref().is_some_and(|t| t.needs_details())
            && let Some(source) = &self.details {
                source.complete(&mut voicemail).await;
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

    /// A recording link clicked: a fresh way to the recording while the link
    /// lasts.
    pub async fn recording(&self, token: &str) -> Result<Recording> {
        let token = LinkToken::parse(token).ok_or(Error::UnknownRecordingLink)?;
        let link = self.store.link(&token.hash()).await?.ok_or(Error::UnknownRecordingLink)?;
        if link.expires_at <= self.now() {
            return Err(Error::RecordingLinkExpired);
        }
        let recordings = self.recordings.as_ref().ok_or_else(|| Error::Internal("no recordings to open".to_owned()))?;
        recordings.open(&link).await?.ok_or(Error::RecordingGone)
    }

    /// A delivery receipt: the message it names moves to `delivered` or
    /// `failed`, once.
    pub async fn receipt(&self, receipt: &Receipt) -> Result<Received> {
        let received = self.store.receive(receipt).await?;
        if let Received::Applied(m) = &received {
            self.metrics.record(&Event::Receipt { tenant: &m.tenant, delivered: receipt.delivered });
        }
        Ok(received)
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }
}
