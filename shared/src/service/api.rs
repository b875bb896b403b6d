//! Both APIs' use cases: checks 1 to 4 in the contract's order, then the
//! send (check 6), a report, the message log, or an extension's service.

use super::rules::{Checked, authorize, check_voicemail, voicemail_text};
use super::steps::Work;
use super::{Answer, ApiAction, ApiCall, ApiRequest, ApiStyle, Error, Result, Sent, Service, reasons::reason};
use crate::domain::{E164, Extension, ExtensionRecord, KeyHash, MessageKind, MessageText, VoicemailDetails};
use crate::ports::{Begun, Event, Held};

/// An API request past checks 1 to 4.
struct Admitted {
    request: ApiRequest,
    checked: Checked,
    /// The extension the request names, as stored.
    extension: Option<ExtensionRecord>,
    idempotency: Option<(String, String)>,
    deadline: Option<u64>,
}

impl Service {
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
                Ok(Answer::Sent(
                    self.api_send(&checked, to, text, MessageKind::Voicemail, idempotency, deadline).await?,
                ))
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
        let named = call.names.tenant.as_ref() == Some(&tenant_id)
            && call.names.extension.as_ref() == request.action.extension();
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
        let checked = Checked { key: Some(key.name), ..self.check_sender(tenant, found.sender)? };
        Ok(Admitted {
            request,
            checked,
            extension: found.extension,
            idempotency: call.idempotency,
            deadline: call.deadline,
        })
    }

    /// Check 6 for both send endpoints: once per Idempotency-Key, against
    /// the API's budget.
    pub(super) async fn api_send(
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
            Begun::Held(held) if Some(held.fingerprint()) != work.fingerprint() => {
                return Err(Error::IdempotencyMismatch);
            }
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

    /// The per-extension enhanced service: its state, or set to `set`.
    async fn extension_service(
        &self,
        x: &Extension,
        record: Option<ExtensionRecord>,
        set: Option<bool>,
    ) -> Result<Answer> {
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
}
