//! What the store holds, as the service sees it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CountryCode, E164, Extension, KeyHash, Permission, Template, TenantId, TenantScope};

/// Who may send from a number: one tenant, or every tenant (`"*"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    System,
    Tenant(TenantId),
}

impl Owner {
    pub fn parse(s: &str) -> Option<Self> {
        if s == "*" {
            Some(Owner::System)
        } else {
            TenantId::parse(s).map(Owner::Tenant)
        }
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
        Owner::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("expected \"*\" or a tenant id of 1 to 10 digits"))
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

/// Per-tenant sending limits (anti SMS-pumping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub per_minute: u32,
    pub per_day: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_minute: 60,
            per_day: 2000,
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
    pub fn seconds(self) -> i64 {
        match self {
            Window::Minute => 60,
            Window::Day => 86_400,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Window::Minute => "minute",
            Window::Day => "day",
        })
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimits>,
}

impl Tenant {
    pub fn allows_country(&self, sender: &E164, country: &CountryCode) -> bool {
        if self.allowed_countries.is_empty() {
            sender.country() == country
        } else {
            self.allowed_countries.contains(country)
        }
    }

    pub fn limits(&self) -> RateLimits {
        self.rate_limits.unwrap_or_default()
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
    pub fn allows_sms(&self) -> bool {
        self.permissions.contains(&Permission::Sms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Sent,
    Failed,
    OptedOut,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
            MessageStatus::OptedOut => "opted_out",
        }
    }
}

/// One SMS attempt in the message log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Our id for the attempt (time-ordered, unique).
    pub id: String,
    pub tenant: TenantId,
    pub kind: MessageKind,
    pub from: String,
    pub to: String,
    pub status: MessageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    pub segments: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds since the epoch.
    pub at: i64,
}
