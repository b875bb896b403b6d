use std::fmt;
use std::sync::LazyLock;

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat};
use serde::{Deserialize, Serialize};

use super::ttl_map::{FOREVER, TtlMap};

/// A valid +E.164 phone number, checked against libphonenumber's metadata
/// (the `rlibphonenumber` crate, differentially fuzzed against Google's C++
/// library). Only the canonical form is accepted: a number the library would
/// rewrite (a trunk prefix dropped, digits completed) is another number than
/// the one given, and is refused.
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
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return None;
        }
        let country = match known(s) {
            Some(country) => country,
            None => {
                let country = Self::validate(s)?;
                remember(s, &country);
                country
            }
        };
        Some(E164 { text: s.to_owned(), country })
    }

    /// libphonenumber's verdict: the number's country, if it is valid.
    fn validate(s: &str) -> Option<CountryCode> {
        let number = PHONE_NUMBER_UTIL.parse(s, None).ok()?;
        // `is_valid()` is this region lookup and this check: the lookup
        // (patterns of up to 25 regions for +1) once, not twice.
        let region = number.get_region_code()?;
        let country = CountryCode::parse(region.as_region_str().as_ref())?;
        (number.is_valid_for_region(region) && number.format_as(PhoneNumberFormat::E164) == s).then_some(country)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn country(&self) -> &CountryCode {
        &self.country
    }
}

/// Valid numbers seen, with their country: the same few numbers (a tenant's
/// sender, read with the tenant at every request; frequent destinations)
/// are validated once, not at each use (tens of microseconds of pattern
/// matching each). Invalid numbers are not kept; at most `KNOWN_MAX`. A
/// number's verdict never changes with time: kept until evicted.
static KNOWN: LazyLock<TtlMap<String, CountryCode>> = LazyLock::new(|| TtlMap::new(KNOWN_MAX));
const KNOWN_MAX: usize = 10_000;

fn known(number: &str) -> Option<CountryCode> {
    KNOWN.get(number, 0)
}

fn remember(number: &str, country: &CountryCode) {
    KNOWN.insert(number.to_owned(), country.clone(), FOREVER);
}

/// Loads libphonenumber's metadata and compiles the North American patterns
/// (about 6 ms the first time), in a cold start's init phase rather than in
/// the first request.
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
        assert_eq!(E164::parse("+390614050665").unwrap().country().as_str(), "IT");
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in [
            "",
            "+",
            "14165551234",
            "+1 416 555 1234",
            "+1-416-555-1234",
            "+0123456789",
            "+1416555123x",
            "++14165551234",
            "+1234",
            "+1234567890123456",
            " +14165551234",
            "+١٤١٦٥٥٥١٢٣٤",
            "+19999999999",
            // Valid only once rewritten: another number than the one given.
            "+17848941",
            "+200343182158",
            // No such number: Norwegian numbers do not start with 0.
            "+4706237097",
        ] {
            assert!(E164::parse(bad).is_none(), "{bad:?}");
            assert!(E164::parse(bad).is_none(), "{bad:?}, asked again");
        }
    }

    #[test]
    fn a_number_seen_before_has_the_same_verdict() {
        for _ in 0..2 {
            assert_eq!(E164::parse("+442079460123").unwrap().country().as_str(), "GB");
            assert_eq!(E164::parse("+14165551234").unwrap().country().as_str(), "CA");
        }
        assert!(known("+442079460123").is_some());
    }
}
