use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::TenantId;

/// Longer presented keys are refused before hashing: no key we issue or
/// accept is longer, and a huge header should not cost a hash.
pub const MAX_PRESENTED_KEY_LEN: usize = 256;

/// An API key secret, as an operator gives it in the configuration file or as
/// we generate it. It never leaves this type except to be hashed or shown
/// once; `Debug` hides it so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    pub const EXPECTED: &'static str = "a secret of 16 to 256 printable ASCII characters without spaces";

    pub fn parse(s: &str) -> Option<Self> {
        ((16..=MAX_PRESENTED_KEY_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| ApiKeySecret(s.to_owned()))
    }

    /// 32 random alphanumeric characters (about 190 bits) from the OS RNG.
    pub fn generate() -> Self {
        let body: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect();
        ApiKeySecret(format!("sk_{body}"))
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.0)
    }

    /// The one way to read the secret: to show it once to the operator.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ApiKeySecret {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("expected {}", Self::EXPECTED))
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// SHA-256 of `data`, in lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a key, hex. Keys we generate carry ~190 bits of entropy, so a
/// fast unsalted hash is enough and lets a key be found by its hash in one
/// read. Stores hold only this.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyHash(String);

impl KeyHash {
    pub fn of(secret: &str) -> Self {
        KeyHash(sha256_hex(secret.as_bytes()))
    }

    /// The hash of a key presented with a request, if it could be a key at all.
    pub fn of_presented(secret: &str) -> Option<Self> {
        (!secret.is_empty() && secret.len() <= MAX_PRESENTED_KEY_LEN).then(|| Self::of(secret))
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then(|| KeyHash(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time equality: a store lookup by hash already reveals nothing
    /// about the secret, and this keeps the final comparison from doing so.
    pub fn matches(&self, other: &KeyHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl TryFrom<String> for KeyHash {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "expected a SHA-256 hash in hex".to_owned())
    }
}

impl From<KeyHash> for String {
    fn from(v: KeyHash) -> String {
        v.0
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell keys apart in a log.
        write!(f, "KeyHash({}…)", &self.0[..8])
    }
}

/// What a key may do: `sms`, the guide's SMS actions (sending, and reading
/// the message log and extensions' SMS settings); `extensions`, beyond it,
/// switching an extension's SMS notifications on or off; `admin`, signing
/// in to the operator console for the key's tenants (no API action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Sms,
    Extensions,
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 3] = [Permission::Sms, Permission::Extensions, Permission::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Sms => "sms",
            Permission::Extensions => "extensions",
            Permission::Admin => "admin",
        }
    }
}

/// Which tenants a key may act for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    All,
    Only(Vec<TenantId>),
}

impl TenantScope {
    pub fn allows(&self, tenant: &TenantId) -> bool {
        match self {
            TenantScope::All => true,
            TenantScope::Only(ids) => ids.contains(tenant),
        }
    }

    /// The tenant a key stands for when a request names none.
    pub fn single(&self) -> Option<&TenantId> {
        match self {
            TenantScope::Only(ids) if ids.len() == 1 => ids.first(),
            _ => None,
        }
    }

    pub fn to_strings(&self) -> Vec<String> {
        match self {
            TenantScope::All => vec!["*".to_owned()],
            TenantScope::Only(ids) => ids.iter().map(|t| t.to_string()).collect(),
        }
    }

    pub fn from_strings<S: AsRef<str>>(items: &[S]) -> Option<Self> {
        if items.len() == 1 && items[0].as_ref() == "*" {
            return Some(TenantScope::All);
        }
        let ids: Option<Vec<TenantId>> = items.iter().map(|s| TenantId::parse(s.as_ref())).collect();
        ids.map(TenantScope::Only)
    }
}

impl Serialize for TenantScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_strings().serialize(s)
    }
}

impl<'de> Deserialize<'de> for TenantScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        TenantScope::from_strings(&items)
            .ok_or_else(|| serde::de::Error::custom("expected [\"*\"] or a list of tenant ids of 1 to 10 digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex_and_secret_is_hidden() {
        let s = ApiKeySecret::parse("test-key-59-abcdef").unwrap();
        assert_eq!(s.hash().as_str(), "34ecadb6e45690dde73b7f0f159371cba904d69786ae4d20596adf88756c26dd");
        assert!(s.hash().matches(&KeyHash::of("test-key-59-abcdef")));
        assert!(!s.hash().matches(&KeyHash::of("test-key-59-abcdeg")));
        assert!(!format!("{s:?}").contains("abcdef"));
        assert!(!format!("{:?}", s.hash()).contains(&s.hash().as_str()[8..]));
    }

    #[test]
    fn secrets_are_bounded() {
        assert!(ApiKeySecret::parse("short").is_none());
        assert!(ApiKeySecret::parse("has a space in it ok").is_none());
        assert!(ApiKeySecret::parse(&"k".repeat(257)).is_none());
        assert!(KeyHash::of_presented(&"k".repeat(257)).is_none());
        assert!(KeyHash::of_presented("").is_none());
        let g = ApiKeySecret::generate();
        assert_eq!(g.reveal().len(), 35);
        assert_ne!(g, ApiKeySecret::generate());
    }
}
