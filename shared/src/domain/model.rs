//! What the store holds, as the service sees it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{
    CountryCode, E164, Extension, KeyHash, MaxSegments, Permission, QuietHours, QuietSetting, Template, TenantId,
    TenantScope, Transcription,
};

/// Who may send from a number: one tenant, or every tenant (`"*"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    System,
    Tenant(TenantId),
}

impl Owner {
    pub fn parse(s: &str) -> Option<Self> {
        if s == "*" { Some(Owner::System) } else { TenantId::parse(s).map(Owner::Tenant) }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Owner::System => "*",
            Owner::Tenant(t) => t.as_str(),
        }
    }

    pub fn allows(&self, tenant: &TenantId) -> bool {
        match self {
            Owner::System => true,
            Owner::Tenant(t) => t == tenant,
        }
    }
}

impl Serialize for Owner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Owner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Owner::parse(&s).ok_or_else(|| serde::de::Error::custom("expected \"*\" or a tenant id of 1 to 10 digits"))
    }
}

/// An entry of the registry of SMS-enabled numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsNumber {
    pub number: E164,
    pub tenant: Owner,
    pub sms_enabled: bool,
}

impl SmsNumber {
    /// The guide's "valid SMS-enabled number on the system" for this tenant.
    pub fn usable_by(&self, tenant: &TenantId) -> bool {
        self.sms_enabled && self.tenant.allows(tenant)
    }
}

/// Per-tenant sending limits (anti SMS-pumping), one pair per kind of SMS so
/// that API traffic cannot starve voicemail notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub per_minute: u32,
    pub per_day: u32,
}

impl RateLimits {
    /// The documented defaults: the API's budget, and the voicemails' own.
    pub fn default_for(kind: MessageKind) -> Self {
        match kind {
            MessageKind::Api => RateLimits { per_minute: 60, per_day: 2000 },
            MessageKind::Voicemail => RateLimits { per_minute: 60, per_day: 5000 },
        }
    }

    pub fn of(self, window: Window) -> u32 {
        match window {
            Window::Minute => self.per_minute,
            Window::Day => self.per_day,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    Minute,
    Day,
}

impl Window {
    pub const ALL: [Window; 2] = [Window::Minute, Window::Day];

    pub fn seconds(self) -> i64 {
        match self {
            Window::Minute => 60,
            Window::Day => 86_400,
        }
    }

    /// As the configuration, the stores and the error texts name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "minute",
            Window::Day => "day",
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Window {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Window::ALL.into_iter().find(|w| w.as_str() == s).ok_or(())
    }
}

/// A tenant's SMS settings (SMS Settings → Notifications).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub id: TenantId,
    pub active: bool,
    #[serde(default)]
    pub sender_number: Option<E164>,
    pub api_enabled: bool,
    pub voicemail_notifications: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voicemail_template: Option<Template>,
    /// Destination countries (ISO 3166 alpha-2) this tenant may send to;
    /// when empty, only the sender number's country.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_countries: Vec<CountryCode>,
    /// The API's limits: every API request, whichever endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimits>,
    /// The voicemail trigger's own limits, apart from the API's budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voicemail_rate_limits: Option<RateLimits>,
    /// Who transcribes voicemails for `{transcript}` when neither the
    /// PBX's event nor a sidecar file brings one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription: Option<Transcription>,
    /// How many segments a voicemail SMS with a transcript may take (the
    /// transcript is cut to fit); [`MaxSegments::DEFAULT`] when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_segments: Option<MaxSegments>,
    /// When voicemail SMS are held, to go at the window's end (an
    /// extension may have its own, or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
}

impl Tenant {
    pub fn allows_country(&self, sender: &E164, country: &CountryCode) -> bool {
        if self.allowed_countries.is_empty() {
            sender.country() == country
        } else {
            self.allowed_countries.contains(country)
        }
    }

    /// The limits of a budget: `Api` for API requests, `Voicemail` for the
    /// trigger.
    pub fn limits(&self, budget: MessageKind) -> RateLimits {
        let set = match budget {
            MessageKind::Api => self.rate_limits,
            MessageKind::Voicemail => self.voicemail_rate_limits,
        };
        set.unwrap_or_else(|| RateLimits::default_for(budget))
    }
}

/// An extension and its per-extension enhanced service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRecord {
    pub tenant: TenantId,
    pub extension: Extension,
    pub sms_notifications: bool,
    #[serde(default)]
    pub sms_number: Option<E164>,
    /// Its own quiet hours, or `false` for none; the tenant's when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietSetting>,
}

/// An API key as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub name: String,
    pub hash: KeyHash,
    pub tenants: TenantScope,
    pub permissions: Vec<Permission>,
    pub enabled: bool,
    /// Seconds since the epoch.
    pub created_at: i64,
}

impl ApiKey {
    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Api,
    Voicemail,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Api => "api",
            MessageKind::Voicemail => "voicemail",
        }
    }
}

/// Where a message stands. An entry moves from `sending` to one of the
/// others; a voicemail whose send `failed` moves on when its retry runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// A voicemail waiting for its transcript: sent when the transcription
    /// completes, fails, or takes too long.
    Transcribing,
    /// A voicemail held by its extension's quiet hours: sent when they end
    /// (`due`), alone or in a digest.
    Held,
    /// Claimed and under way (or its run died: the lease tells).
    Sending,
    /// The provider took it.
    Sent,
    /// The carrier delivered it (the provider's receipt says so).
    Delivered,
    /// The provider's attempt failed; a voicemail is retried.
    Failed,
    /// Refused for good (a limit, a country, the provider's final refusal).
    Refused,
    OptedOut,
    /// A voicemail that does not qualify; the reason says why.
    Skipped,
    /// Its run stopped (killed, timed out) after the send began and before
    /// it recorded how it went, and nothing came to finish it: the SMS may
    /// or may not have gone out. Not stored: an entry still `sending` past
    /// its lease reads so.
    Unknown,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 10] = [
        MessageStatus::Transcribing,
        MessageStatus::Held,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Failed,
        MessageStatus::Refused,
        MessageStatus::OptedOut,
        MessageStatus::Skipped,
        MessageStatus::Unknown,
    ];

    /// What a filter on the status accepts, for its error text (a test
    /// checks it names [`Self::ALL`]).
    pub const EXPECTED: &'static str =
        "transcribing, held, sending, sent, delivered, failed, refused, opted_out, skipped or unknown";

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Transcribing => "transcribing",
            MessageStatus::Held => "held",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Refused => "refused",
            MessageStatus::OptedOut => "opted_out",
            MessageStatus::Skipped => "skipped",
            MessageStatus::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MessageStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        MessageStatus::ALL.into_iter().find(|m| m.as_str() == s).ok_or(())
    }
}

/// One message in the message log: an API request's SMS, or a voicemail's
/// notification (sent, or skipped with its reason). Retries of a voicemail
/// update the same entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Our id: time-ordered for API requests, derived from the voicemail's
    /// identity for voicemails (so every delivery of it finds the entry).
    pub id: String,
    pub tenant: TenantId,
    pub kind: MessageKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
    /// Empty while unknown (a voicemail skipped before its sender was).
    pub from: String,
    pub to: String,
    pub status: MessageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    pub segments: usize,
    /// Why it failed, was refused or skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When this status was reached, seconds since the epoch.
    pub at: i64,
    /// Send attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// The provider's delivery receipt, once it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<DeliveryReceipt>,
    /// While `sending`: until when its run may still record how the send
    /// went (its claim's lease, epoch seconds). Past it, its run died with
    /// the outcome unrecorded, and readers see the entry as `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<i64>,
    /// The name of the API key that asked for it (an API request's): the
    /// console's "last SMS" of a key, read off the log at no cost to a send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// While `held`: when it goes (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<i64>,
    /// A held voicemail sent in a digest: the digest's message id (its
    /// entry has the provider's id and receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// What the provider reported of a sent message's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    pub delivered: bool,
    pub response: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_usd: Option<String>,
    /// When the provider reported it, epoch seconds.
    pub at: i64,
}

/// Why an entry reads `unknown`.
pub const UNKNOWN_OUTCOME: &str =
    "its run stopped before it recorded how the send went: the SMS may or may not have gone out";

impl MessageRecord {
    /// The entry as a reader sees it at `now`: one still `sending` past its
    /// lease is `unknown` (its run died; nothing will finish it but a
    /// redelivery, which writes over it).
    pub fn as_of(mut self, now: i64) -> MessageRecord {
        if self.status == MessageStatus::Sending && self.lease_until.is_some_and(|until| until <= now) {
            self.status = MessageStatus::Unknown;
            self.error = Some(UNKNOWN_OUTCOME.to_owned());
        }
        self
    }

    /// The entry once its receipt is in: `delivered`, or `failed` with the
    /// provider's response as the reason. `None` for a receipt already
    /// applied (receipts arrive at least once).
    pub fn with_receipt(&self, r: &super::Receipt) -> Option<MessageRecord> {
        if self.receipt.is_some() {
            return None;
        }
        let mut next = self.clone();
        next.status = if r.delivered { MessageStatus::Delivered } else { MessageStatus::Failed };
        next.error = (!r.delivered).then(|| r.response.clone());
        next.receipt = Some(DeliveryReceipt {
            delivered: r.delivered,
            response: r.response.clone(),
            price_usd: r.price_usd.clone(),
            at: r.at,
        });
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_windows_read_back_what_they_write() {
        for status in MessageStatus::ALL {
            assert_eq!(status.to_string().parse(), Ok(status));
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json.as_str(), Some(status.as_str()), "serde and Display agree");
        }
        let names: Vec<&str> = MessageStatus::ALL.iter().map(|s| s.as_str()).collect();
        let (last, rest) = names.split_last().unwrap();
        assert_eq!(MessageStatus::EXPECTED, format!("{} or {last}", rest.join(", ")));
        for window in Window::ALL {
            assert_eq!(window.to_string().parse(), Ok(window));
            assert_eq!(serde_json::to_value(window).unwrap().as_str(), Some(window.as_str()));
        }
        assert_eq!("Sent".parse::<MessageStatus>(), Err(()));
    }
}
