//! The contract's rules that need no store: the key's rights, a voicemail's
//! destination, destination countries, the voicemail text.

use super::{ApiAction, Error, Result};
use crate::domain::{
    ApiKey, DEFAULT_VOICEMAIL_TEXT, E164, Extension, ExtensionRecord, MaxSegments, MessageStatus, MessageText,
    Permission, Template, Tenant, TenantId, VoicemailDetails, fit, sha256_hex,
};

/// A tenant that passed check 4, with its sender number, and who asked:
/// the API key's name (none for the console's test SMS).
#[derive(Debug, Clone)]
pub struct Checked {
    pub tenant: Tenant,
    pub sender: E164,
    pub key: Option<String>,
}

impl Checked {
    /// Destination countries: the sender's own unless the tenant lists more.
    pub fn allows(&self, to: &E164) -> Result<()> {
        if self.tenant.allows_country(&self.sender, to.country()) {
            Ok(())
        } else {
            Err(Error::CountryNotAllowed { country: to.country().to_string() })
        }
    }
}

/// Check 3: SMS actions, changing an extension (a right beyond them), the
/// tenant.
pub fn authorize(key: &ApiKey, tenant: &TenantId, action: &ApiAction) -> Result<()> {
    if !key.allows(Permission::Sms) {
        return Err(Error::KeyNotForSms);
    }
    if matches!(action, ApiAction::ExtensionService { set: Some(_), .. }) && !key.allows(Permission::Extensions) {
        return Err(Error::KeyNotForExtensions);
    }
    if !key.tenants.allows(tenant) {
        return Err(Error::KeyNotForTenant);
    }
    Ok(())
}

/// Check 5: the destination of a voicemail SMS.
pub fn check_voicemail(tenant: &Tenant, extension: &Extension, record: Option<&ExtensionRecord>) -> Result<E164> {
    if !tenant.voicemail_notifications {
        return Err(Error::VoicemailDisabled);
    }
    let record = record.ok_or_else(|| Error::UnknownExtension(extension.to_string()))?;
    if !record.sms_notifications {
        return Err(Error::ExtensionDisabled);
    }
    record.sms_number.clone().ok_or(Error::NoDestination)
}

pub fn default_voicemail_text() -> MessageText {
    MessageText::new(DEFAULT_VOICEMAIL_TEXT).expect("the default text is valid")
}

/// The tenant's template filled in, or the guide's text; a template that
/// renders to something unsendable (too long) falls back to the guide's text.
/// A transcript is cut to keep the SMS within the tenant's `max_segments`.
pub fn voicemail_text(tenant: &Tenant, details: &VoicemailDetails) -> MessageText {
    let Some(template) = &tenant.voicemail_template else {
        return default_voicemail_text();
    };
    let max = tenant.max_segments.unwrap_or(MaxSegments::DEFAULT);
    filled(template, details, max).unwrap_or_else(|error| {
        tracing::warn!(tenant = %tenant.id, %error, "voicemail template unusable, default text sent");
        default_voicemail_text()
    })
}

/// A template filled in, its transcript cut to keep the SMS within `max`
/// segments; or why it cannot be sent. The console's preview shows the same.
pub fn filled(
    template: &Template,
    details: &VoicemailDetails,
    max: MaxSegments,
) -> std::result::Result<MessageText, String> {
    match details.transcript() {
        Some(said) if template.needs_transcript() => {
            let max = max.get();
            fit(said.as_str(), max, |t| template.render_with(details, t))
                .ok_or_else(|| format!("no transcript fits within {max} segment(s) beside the template's own text"))
        }
        _ => MessageText::new(template.render(details)).map_err(|e| e.to_string()),
    }
}

/// Where a message that did not go out stands.
pub fn status_of(e: &Error) -> MessageStatus {
    match e {
        Error::OptedOut => MessageStatus::OptedOut,
        e if e.is_retryable() => MessageStatus::Failed,
        _ => MessageStatus::Refused,
    }
}

/// A fingerprint of a request body, for Idempotency-Key checks.
pub fn fingerprint(body: &[u8]) -> String {
    sha256_hex(body)
}

/// A voicemail's message id: the same for every delivery of it, so each
/// finds (and updates) one log entry.
pub fn voicemail_message_id(identity: &str) -> String {
    format!("vm-{}", &sha256_hex(identity.as_bytes())[..32])
}

/// A digest's id: its first member's, as `dg-…`, so that every run that
/// sends the same digest logs the same entry.
pub fn digest_message_id(first_member: &str) -> String {
    format!("dg-{}", first_member.strip_prefix("vm-").unwrap_or(first_member))
}

/// Time-ordered and unique: UUIDv7 is monotonic within a process, so
/// entries of one second still sort in the order they were made.
pub fn api_message_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voicemail_ids_are_stable_and_distinct() {
        let a = voicemail_message_id("s3://b/voicemail/59/1001/a.wav#1");
        assert_eq!(a, voicemail_message_id("s3://b/voicemail/59/1001/a.wav#1"));
        assert_ne!(a, voicemail_message_id("s3://b/voicemail/59/1001/a.wav#2"));
        assert_eq!(a.len(), 35);
    }

    #[test]
    fn statuses_of_failures() {
        use crate::domain::Window;
        assert_eq!(status_of(&Error::OptedOut), MessageStatus::OptedOut);
        assert_eq!(status_of(&Error::ProviderUnavailable("x".into())), MessageStatus::Failed);
        assert_eq!(status_of(&Error::ProviderRejected("x".into())), MessageStatus::Refused);
        assert_eq!(status_of(&Error::RateLimited { limit: 1, window: Window::Minute }), MessageStatus::Failed);
        assert_eq!(status_of(&Error::RateLimited { limit: 1, window: Window::Day }), MessageStatus::Refused);
    }
}
