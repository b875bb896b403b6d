use std::fmt;

use serde::{Deserialize, Serialize};

/// ASCII digits only, bounded: nothing that could reach into another store
/// key (`#`, `/`, `..`), no Unicode digits, nothing huge.
fn ascii_digits(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! digits_id {
    ($(#[$doc:meta])* $name:ident, $max:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;
            /// What a valid value looks like, for error texts.
            pub const EXPECTED: &'static str = $what;

            pub fn parse(s: &str) -> Option<Self> {
                ascii_digits(s, $max).then(|| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).ok_or_else(|| format!("expected {}", $what))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

digits_id!(
    /// A tenant id (the API's `server`): 1 to 10 ASCII digits.
    TenantId,
    10,
    "a tenant id of 1 to 10 digits"
);
digits_id!(
    /// An extension number: 1 to 15 ASCII digits.
    Extension,
    15,
    "an extension number of 1 to 15 digits"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ids_are_refused() {
        for bad in ["", "1001#EXT#1", "../59", "59/", " 59", "59 ", "5a", "٥٩", "５９", "+59", "-1", "12345678901"]
        {
            assert!(TenantId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Extension::parse(&"1".repeat(16)).is_none());
        assert!(Extension::parse("1001#EXT#1002").is_none());
        assert_eq!(TenantId::parse("59").unwrap().as_str(), "59");
        assert_eq!(Extension::parse(&"9".repeat(15)).unwrap().as_str().len(), 15);
    }
}
