//! The service: the contract's checks in their order, then the send. The APIs
//! and the trigger only parse and map; every rule lives here.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::domain::{
    ApiKey, DEFAULT_VOICEMAIL_TEXT, E164, Encoding, Extension, ExtensionRecord, KeyHash,
    MessageKind, MessageRecord, MessageStatus, MessageText, Tenant, TenantId, VoicemailDetails, Window,
    sha256_hex,
};
use crate::error::{Error, Result};
use crate::ports::{Found, Held, Lookup, OutgoingSms, SmsGateway, Store};

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
    /// What makes it unique across deliveries: bucket, key and version or
    /// sequencer, or the `New Voicemail` event's id.
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
    /// Not a voicemail, does not qualify, or can never be sent: the reason
    /// is logged, and it is not retried.
    Skipped(String),
    /// Another delivery of the same voicemail sent it, or is sending it.
    Duplicate,
}

/// Fills in what a template needs beyond the event (S3 object metadata).
#[async_trait::async_trait]
pub trait DetailsSource: Send + Sync {
    async fn complete(&self, voicemail: &mut Voicemail) -> Result<()>;
}

/// Tunables, from the environment at cold start.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long the message log keeps an entry.
    pub message_log_days: u32,
    /// How long a voicemail claim blocks other deliveries while a send is
    /// under way: longer than a function run, shorter than the queue's
    /// visibility timeout, so a crashed run's voicemail is retried.
    pub claim_lease_secs: i64,
    /// How long a finished claim (and an Idempotency-Key) is remembered.
    pub dedup_keep_secs: i64,
    /// Ask the provider whether the destination opted out before sending.
    pub check_opt_out: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            message_log_days: 90,
            claim_lease_secs: 120,
            dedup_keep_secs: 7 * 86_400,
            check_opt_out: true,
        }
    }
}

pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    })
}

#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    gateway: Arc<dyn SmsGateway>,
    details: Option<Arc<dyn DetailsSource>>,
    policy: Policy,
    clock: Clock,
}

/// Everything a send needs once the checks passed.
struct Checked {
    tenant: Tenant,
    sender: E164,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, gateway: Arc<dyn SmsGateway>, policy: Policy) -> Self {
        Service {
            store,
            gateway,
            details: None,
            policy,
            clock: system_clock(),
        }
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
        // One read for what the request names: the key, and the tenant and
        // extension when the request names them.
        let hint = call.request.as_ref().ok();
        let tenant_hint = hint.and_then(|r| r.tenant.clone());
        let ext_hint = hint.and_then(|r| match &r.action {
            ApiAction::VoicemailNotify { extension, .. } => tenant_hint.as_ref().map(|_| extension.clone()),
            ApiAction::Send { .. } => None,
        });
        let found = self
            .store
            .lookup(Lookup {
                key: hash.as_ref(),
                tenant: tenant_hint.as_ref(),
                extension: ext_hint.as_ref(),
                number: None,
            })
            .await?;

        // 1. The key.
        let key = match (&hash, found.key) {
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
        // 4. The tenant (read now if the request did not name it).
        let extension = match &request.action {
            ApiAction::VoicemailNotify { extension, .. } => Some(extension),
            ApiAction::Send { .. } => None,
        };
        let mut found = Found {
            tenant: found.tenant,
            extension: found.extension,
            ..Found::default()
        };
        if tenant_hint.as_ref() != Some(&tenant_id) {
            found = self
                .store
                .lookup(Lookup {
                    tenant: Some(&tenant_id),
                    extension,
                    ..Lookup::default()
                })
                .await?;
        }
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
                let text = match text {
                    Some(t) => t,
                    None => voicemail_text(
                        &checked.tenant,
                        &VoicemailDetails {
                            extension: extension.to_string(),
                            ..VoicemailDetails::default()
                        },
                    ),
                };
                (to, text, MessageKind::Voicemail)
            }
        };

        // 6. Send, once per Idempotency-Key.
        let Some((idem_key, fingerprint)) = call.idempotency else {
            return self.deliver(&checked, &to, &text, kind).await;
        };
        let claim_id = format!("idem#{tenant_id}#{}", KeyHash::of(&idem_key).as_str());
        let now = self.now();
        match self.store.claim(&claim_id, &fingerprint, now, self.policy.claim_lease_secs).await? {
            None => {}
            Some(held) if held_fingerprint(&held) != fingerprint => {
                return Err(Error::IdempotencyMismatch)
            }
            Some(Held::Done { result, .. }) => {
                return serde_json::from_str(&result).map_err(|e| Error::Internal(e.to_string()))
            }
            Some(Held::Pending { .. }) => return Err(Error::IdempotencyInProgress),
        }
        match self.deliver(&checked, &to, &text, kind).await {
            Ok(sent) => {
                let result = serde_json::to_string(&sent).map_err(|e| Error::Internal(e.to_string()))?;
                self.finish_or_log(&claim_id, &result).await;
                Ok(sent)
            }
            Err(e) => {
                self.release_or_log(&claim_id).await;
                Err(e)
            }
        }
    }

    /// The trigger: a voicemail that qualifies gets exactly one SMS.
    pub async fn voicemail(&self, mut voicemail: Voicemail) -> Result<Outcome> {
        let found = self
            .store
            .lookup(Lookup {
                tenant: Some(&voicemail.tenant),
                extension: Some(&voicemail.extension),
                ..Lookup::default()
            })
            .await?;
        let qualified = async {
            let tenant = found
                .tenant
                .ok_or_else(|| Error::UnknownTenant(voicemail.tenant.to_string()))?;
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
            Err(e) => return Ok(Outcome::Skipped(e.to_string())),
        };

        let now = self.now();
        let id = format!("vm#{}", voicemail.identity);
        match self.store.claim(&id, &voicemail.identity, now, self.policy.claim_lease_secs).await? {
            None => {}
            Some(_) => return Ok(Outcome::Duplicate),
        }
        let result = async {
            if checked.tenant.voicemail_template.as_ref().is_some_and(|t| t.needs_details()) {
                if let Some(source) = &self.details {
                    source.complete(&mut voicemail).await?;
                }
            }
            let text = voicemail_text(&checked.tenant, &voicemail.details);
            self.deliver(&checked, &to, &text, MessageKind::Voicemail).await
        }
        .await;
        match result {
            Ok(sent) => {
                self.finish_or_log(&id, &sent.id).await;
                Ok(Outcome::Sent(sent))
            }
            Err(e) if e.is_retryable() => {
                // Not marked as sent: the platform's retry will take it again.
                self.release_or_log(&id).await;
                Err(e)
            }
            Err(e) => {
                // Final (opted out, country refused): remember it so that
                // redeliveries do not ask again.
                self.finish_or_log(&id, &format!("refused: {e}")).await;
                Ok(Outcome::Skipped(e.to_string()))
            }
        }
    }

    /// Check 4's last step: the sender is in the registry, SMS-enabled and
    /// the tenant's (or the system's).
    async fn check_sender(&self, tenant: Tenant) -> Result<Checked> {
        let sender = tenant.sender_number.clone().ok_or(Error::InvalidSender)?;
        let found = self
            .store
            .lookup(Lookup {
                number: Some(&sender),
                ..Lookup::default()
            })
            .await?;
        match found.number {
            Some(n) if n.usable_by(&tenant.id) => Ok(Checked { tenant, sender }),
            _ => Err(Error::InvalidSender),
        }
    }

    /// Destination rules, rate limit, opt-out, send, log.
    async fn deliver(
        &self,
        checked: &Checked,
        to: &E164,
        text: &MessageText,
        kind: MessageKind,
    ) -> Result<Sent> {
        let tenant = &checked.tenant;
        if !tenant.allows_country(&checked.sender, to.country()) {
            return Err(Error::CountryNotAllowed {
                country: to.country().to_string(),
            });
        }
        let now = self.now();
        if let Some(window) = self.store.take_rate(&tenant.id, tenant.limits(), now).await? {
            let limits = tenant.limits();
            let limit = match window {
                Window::Minute => limits.per_minute,
                Window::Day => limits.per_day,
            };
            return Err(Error::RateLimited { limit, window });
        }
        let sms = OutgoingSms {
            tenant: &tenant.id,
            kind,
            from: &checked.sender,
            to,
            text,
        };
        let sent = match self.opt_out_check(to).await {
            Ok(()) => self.gateway.send(sms).await.map_err(Error::from),
            Err(e) => Err(e),
        };
        let mut record = MessageRecord {
            id: message_id(),
            tenant: tenant.id.clone(),
            kind,
            from: checked.sender.to_string(),
            to: to.to_string(),
            status: MessageStatus::Sent,
            provider_id: None,
            segments: text.segments(),
            error: None,
            at: now,
        };
        match &sent {
            Ok(provider_id) => record.provider_id = Some(provider_id.clone()),
            Err(e) => {
                record.status = if *e == Error::OptedOut {
                    MessageStatus::OptedOut
                } else {
                    MessageStatus::Failed
                };
                record.error = Some(e.cause().unwrap_or(&e.to_string()).to_owned());
            }
        }
        let keep = i64::from(self.policy.message_log_days) * 86_400;
        if let Err(e) = self.store.record_message(&record, keep).await {
            // The SMS is out (or failed) either way; failing the request now
            // would make the caller retry and send it twice.
            tracing::error!(error = %e, message = %record.id, "message log write failed");
        }
        let provider_id = sent?;
        tracing::info!(tenant = %tenant.id, kind = kind.as_str(), to = %to, id = %provider_id, segments = text.segments(), "SMS sent");
        Ok(Sent {
            id: provider_id,
            from: checked.sender.to_string(),
            to: to.to_string(),
            segments: text.segments(),
            encoding: text.encoding(),
        })
    }

    async fn opt_out_check(&self, to: &E164) -> Result<()> {
        if self.policy.check_opt_out && self.gateway.opted_out(to).await? {
            return Err(Error::OptedOut);
        }
        Ok(())
    }

    async fn finish_or_log(&self, id: &str, result: &str) {
        if let Err(e) = self
            .store
            .finish_claim(id, result, self.now(), self.policy.dedup_keep_secs)
            .await
        {
            // The lease runs out and a redelivery may send again: the one
            // window for a duplicate, logged so an operator can see it.
            tracing::error!(error = %e, claim = id, "could not mark claim done");
        }
    }

    async fn release_or_log(&self, id: &str) {
        if let Err(e) = self.store.release_claim(id).await {
            // The lease runs out on its own; the retry waits until then.
            tracing::warn!(error = %e, claim = id, "could not release claim");
        }
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }
}

/// Check 3.
fn authorize(key: &ApiKey, tenant: &TenantId) -> Result<()> {
    if !key.allows_sms() {
        return Err(Error::KeyNotForSms);
    }
    if !key.tenants.allows(tenant) {
        return Err(Error::KeyNotForTenant);
    }
    Ok(())
}

/// Check 5: the destination of a voicemail SMS.
fn check_voicemail(tenant: &Tenant, extension: &Extension, record: Option<&ExtensionRecord>) -> Result<E164> {
    if !tenant.voicemail_notifications {
        return Err(Error::VoicemailDisabled);
    }
    let record = record.ok_or_else(|| Error::UnknownExtension(extension.to_string()))?;
    if !record.sms_notifications {
        return Err(Error::ExtensionDisabled);
    }
    record.sms_number.clone().ok_or(Error::NoDestination)
}

/// The tenant's template filled in, or the guide's text; a template that
/// renders to something unsendable (too long) falls back to the guide's text.
fn voicemail_text(tenant: &Tenant, details: &VoicemailDetails) -> MessageText {
    let default = || MessageText::new(DEFAULT_VOICEMAIL_TEXT).expect("the default text is valid");
    match &tenant.voicemail_template {
        Some(t) => MessageText::new(t.render(details)).unwrap_or_else(|e| {
            tracing::warn!(tenant = %tenant.id, error = %e, "voicemail template unusable, default text sent");
            default()
        }),
        None => default(),
    }
}

fn held_fingerprint(held: &Held) -> &str {
    match held {
        Held::Pending { fingerprint, .. } | Held::Done { fingerprint, .. } => fingerprint,
    }
}

/// A fingerprint of a request body, for Idempotency-Key checks.
pub fn fingerprint(body: &[u8]) -> String {
    sha256_hex(body)
}

/// Time-ordered and unique: UUIDv7 is monotonic within a process, so
/// entries of one second still sort in the order they were made.
fn message_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
