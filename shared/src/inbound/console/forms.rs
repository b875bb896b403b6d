//! A form's fields, read as the configuration file reads the same values:
//! through their types' own `Deserialize`, so the console refuses what
//! `apply` refuses, in the same words.

use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, StrDeserializer};

use crate::service::Error;

/// A form body or a query string, decoded.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(raw: &[u8]) -> Form {
        Form(form_urlencoded::parse(raw).into_owned().collect())
    }

    /// A field's first value, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A Yes/No choice: `yes` or `no`.
    pub fn yes_no(&self, name: &str, label: &str) -> Result<bool, Error> {
        match self.get(name) {
            Some("yes") => Ok(true),
            Some("no") => Ok(false),
            _ => Err(Error::InvalidSetting(format!("{label}: choose Yes or No"))),
        }
    }

    /// A field as its type reads it; blank is `None`.
    pub fn value<T: DeserializeOwned>(&self, name: &str, label: &str) -> Result<Option<T>, Error> {
        self.get(name).map(|v| parse(v, label)).transpose()
    }

    /// A field that must be given.
    pub fn required<T: DeserializeOwned>(&self, name: &str, label: &str) -> Result<T, Error> {
        self.value(name, label)?.ok_or_else(|| Error::InvalidSetting(format!("{label}: required")))
    }
}

impl Form {
    /// A number as the file reads one (JSON's, into its type), blank `None`.
    pub fn number<T: DeserializeOwned>(&self, name: &str, label: &str) -> Result<Option<T>, Error> {
        let read =
            |v: &str| serde_json::from_str(v).map_err(|e| Error::InvalidSetting(format!("{label}: {}", plain(&e))));
        self.get(name).map(read).transpose()
    }
}

/// serde_json's text without its " at line 1 column N".
fn plain(e: &serde_json::Error) -> String {
    let text = e.to_string();
    text.split(" at line ").next().unwrap_or(&text).to_owned()
}

/// One value as the configuration file's types read it.
pub fn parse<T: DeserializeOwned>(value: &str, label: &str) -> Result<T, Error> {
    T::deserialize(StrDeserializer::<ValueError>::new(value))
        .map_err(|e| Error::InvalidSetting(format!("{label}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{E164, Template};

    #[test]
    fn values_are_refused_in_applys_words() {
        let form = Form::parse(b"sender=4165550000&template=Hi+%7Bcaller%7D&active=maybe&blank=+");
        let e = form.value::<E164>("sender", "Sender Number").unwrap_err().to_string();
        assert_eq!(e, "Sender Number: expected a phone number in +E.164 format");
        let e = form.value::<Template>("template", "Template").unwrap_err().to_string();
        assert!(e.starts_with("Template: unknown placeholder {caller}"), "{e}");
        assert_eq!(form.yes_no("active", "Active").unwrap_err().to_string(), "Active: choose Yes or No");
        assert_eq!(form.value::<E164>("blank", "x").unwrap(), None);
    }
}
