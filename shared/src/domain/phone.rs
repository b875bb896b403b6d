use std::fmt;

use serde::{Deserialize, Serialize};

/// A valid +E.164 phone number, checked against libphonenumber's metadata
/// (the `phonenumber` crate). Kept in canonical E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164 {
    text: String,
    country: CountryCode,
}

/// ISO 3166-1 alpha-2 region of a number ("CA", "US", "GB").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())).then(|| CountryCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CountryCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "expected an ISO 3166 country code such as \"CA\"".to_owned())
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> String {
        c.0
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl E164 {
    pub const EXPECTED: &'static str = "a phone number in +E.164 format";

    pub fn parse(s: &str) -> Option<Self> {
        // The strict shape first: '+', then 8 to 15 ASCII digits, nothing else.
        // The crate alone would accept spaces, dashes and national formats.
        let digits = s.strip_prefix('+')?;
        if !(8..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return None;
        }
        let number = phonenumber::parse(None, s).ok()?;
        if !phonenumber::is_valid(&number) {
            return None;
        }
        let region = number.country().id()?;
        let text = number.format().mode(phonenumber::Mode::E164).to_string();
        Some(E164 {
            text,
            country: CountryCode::parse(&format!("{region:?}"))?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn country(&self) -> &CountryCode {
        &self.country
    }
}

/// Loads libphonenumber's metadata and compiles the North American patterns:
/// about 0.1 s the first time, so it belongs in a cold start's init phase, not
/// in the first request.
pub fn warm_up() {
    let _ = E164::parse("+14165550000");
}

impl TryFrom<String> for E164 {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("expected {}", Self::EXPECTED))
    }
}

impl From<E164> for String {
    fn from(v: E164) -> String {
        v.text
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_numbers_are_valid() {
        let n = E164::parse("+14165551234").unwrap();
        assert_eq!(n.as_str(), "+14165551234");
        assert_eq!(n.country().as_str(), "CA");
        assert_eq!(E164::parse("+14165550000").unwrap().country().as_str(), "CA");
        assert_eq!(E164::parse("+442079460123").unwrap().country().as_str(), "GB");
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in [
            "", "+", "14165551234", "+1 416 555 1234", "+1-416-555-1234", "+0123456789",
            "+1416555123x", "++14165551234", "+1234", "+1234567890123456", " +14165551234",
            "+١٤١٦٥٥٥١٢٣٤", "+19999999999",
        ] {
            assert!(E164::parse(bad).is_none(), "{bad:?}");
        }
    }
}
