//! A link to a voicemail's recording that keeps working for days: an
//! unguessable token in the SMS, only its hash in the store, and at each
//! click a freshly presigned URL. (A URL presigned when the SMS goes out,
//! with a Lambda role's temporary credentials, dies with that session,
//! within hours.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{KeyHash, TenantId};

/// A token as it travels: 128 random bits, Base64url.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    pub const LEN: usize = 22;

    pub fn generate() -> LinkToken {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        LinkToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as it came back in a URL, if it could be one of ours.
    pub fn parse(raw: &str) -> Option<LinkToken> {
        (raw.len() == Self::LEN && URL_SAFE_NO_PAD.decode(raw).is_ok_and(|b| b.len() == 16))
            .then(|| LinkToken(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps: a stolen store opens no recording.
    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.0)
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

/// What a link opens, as stored under its token's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingLink {
    pub hash: KeyHash,
    pub tenant: TenantId,
    pub bucket: String,
    pub key: String,
    /// Epoch seconds; after it the link answers that it expired.
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_checked() {
        let t = LinkToken::generate();
        assert_eq!(t.as_str().len(), LinkToken::LEN);
        assert_ne!(t, LinkToken::generate());
        assert_eq!(LinkToken::parse(t.as_str()), Some(t.clone()));
        assert_eq!(t.hash(), KeyHash::of(t.as_str()));
        assert!(!format!("{t:?}").contains(t.as_str()));
        for bad in ["", "short", &"A".repeat(23), "AAAAAAAAAAAAAAAAAAAAA/", "AAAAAAAAAAAAAAAAAAAA=="] {
            assert_eq!(LinkToken::parse(bad), None, "{bad}");
        }
    }
}
