//! Query-string (and form) parameters, read once: a parameter given twice
//! with different values is refused rather than guessed at, and what a
//! request may carry is known.

use crate::domain::{Cursor, E164, TenantId};
use crate::service::{Error, Result};

pub struct Params {
    pairs: Vec<(String, String)>,
    /// The action API reads `name=` as no value at all, as PBXware does;
    /// the REST API reads it as a value, which its checks then refuse.
    empty_is_absent: bool,
}

impl Params {
    /// The action API's: query string, then a form body; empty is absent.
    pub fn parse(query: Option<&str>, form: Option<&[u8]>) -> Params {
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
        if let Some(body) = form {
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        Params { pairs, empty_is_absent: true }
    }

    /// The REST API's: the query string, where an empty value is a value.
    pub fn parse_strict(query: Option<&str>) -> Params {
        Params { empty_is_absent: false, ..Params::parse(query, None) }
    }

    pub fn get(&self, name: &'static str) -> Result<Option<&str>> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.any(|v| Some(v) != first) {
            return Err(Error::invalid(name, "a single value"));
        }
        Ok(first.filter(|v| !(self.empty_is_absent && v.is_empty())))
    }

    pub fn required(&self, name: &'static str) -> Result<&str> {
        self.get(name)?.ok_or(Error::MissingField(name))
    }

    /// Refuses parameters other than `known`.
    pub fn only(&self, known: &[&str]) -> Result<()> {
        match self.pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((k, _)) => Err(Error::UnknownField(k.clone())),
            None => Ok(()),
        }
    }

    pub fn tenant(&self) -> Result<Option<TenantId>> {
        self.get("server")?.map(|s| TenantId::parse(s).ok_or(Error::invalid("server", TenantId::EXPECTED))).transpose()
    }

    pub fn e164(&self, name: &'static str) -> Result<Option<E164>> {
        self.get(name)?.map(|s| E164::parse(s).ok_or(Error::invalid(name, E164::EXPECTED))).transpose()
    }

    pub fn cursor(&self, name: &'static str) -> Result<Option<Cursor>> {
        self.get(name)?.map(|s| Cursor::parse(s).ok_or(Error::invalid(name, Cursor::EXPECTED))).transpose()
    }
}
