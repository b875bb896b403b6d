//! Where a page of the message log ends: the next page starts after this
//! entry. Opaque to callers (Base64url), checked when it comes back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A message id as the store makes them: UUIDv7, `vm-<hex>`, `seeded-…`
/// in tests; bounded, no separators.
const MAX_ID: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The entry's time, epoch seconds.
    pub at: i64,
    pub id: String,
}

impl Cursor {
    pub const EXPECTED: &'static str = "a cursor from a previous page";

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}#{}", self.at, self.id))
    }

    pub fn parse(raw: &str) -> Option<Cursor> {
        if raw.len() > 2 * MAX_ID {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (at, id) = text.split_once('#')?;
        let at: i64 = at.parse().ok().filter(|a| *a >= 0)?;
        let id_ok = !id.is_empty() && id.len() <= MAX_ID && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        id_ok.then(|| Cursor { at, id: id.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let c = Cursor { at: 1_795_000_000, id: "0192f8a1-7c3e-7b2a-9d4e-5f6a7b8c9d0e".into() };
        assert_eq!(Cursor::parse(&c.encode()), Some(c));
        for bad in ["", "!!!", "bm8tc2VwYXJhdG9y", "LTEjYQ", "MTIjYSNi", "MTIj", &"A".repeat(200)] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }
}
