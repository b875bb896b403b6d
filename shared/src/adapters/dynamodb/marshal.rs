//! Items to domain values and back: attribute helpers, and the shape of
//! claims and message-log items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{ATTEMPTS, DATA, Key, PK, SK, log_partition, log_sort};
use crate::domain::MessageRecord;
use crate::ports::{Held, StoreError};

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

impl Key {
    pub fn item(&self) -> Item {
        HashMap::from([(PK.to_owned(), s(&self.pk)), (SK.to_owned(), s(&self.sk))])
    }

    /// The key with these attributes.
    pub fn with<'a>(&self, attrs: impl IntoIterator<Item = (&'a str, AttributeValue)>) -> Item {
        let mut item = self.item();
        item.extend(attrs.into_iter().map(|(k, v)| (k.to_owned(), v)));
        item
    }

    pub fn with_data<T: Serialize>(&self, value: &T) -> Result<Item, StoreError> {
        Ok(self.with([(DATA, s(json(value)?))]))
    }
}

pub fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(e.to_string()))
}

fn attr<'a>(item: &'a Item, name: &str) -> Result<&'a AttributeValue, StoreError> {
    item.get(name).ok_or_else(|| StoreError(format!("corrupt item: no attribute {name}")))
}

pub fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    attr(item, name)?
        .as_s()
        .map(String::as_str)
        .map_err(|_| StoreError(format!("corrupt item: {name} is not a string")))
}

pub fn number(item: &Item, name: &str) -> Result<i64, StoreError> {
    attr(item, name)?
        .as_n()
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError(format!("corrupt item: {name} is not an integer")))
}

fn boolean(item: &Item, name: &str) -> Result<bool, StoreError> {
    attr(item, name)?.as_bool().copied().map_err(|_| StoreError(format!("corrupt item: {name} is not a boolean")))
}

pub fn data<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(string(item, DATA)?).map_err(|e| StoreError(format!("corrupt item: {e}")))
}

/// A held claim, from the item that made a conditional write fail.
pub fn held(item: &Item) -> Result<Held, StoreError> {
    let fingerprint = string(item, "fingerprint")?.to_owned();
    Ok(if boolean(item, "done")? {
        Held::Done { fingerprint, result: item.get("result").and_then(|r| r.as_s().ok()).cloned().unwrap_or_default() }
    } else {
        Held::Pending { fingerprint, lease_until: number(item, "lease_until")? }
    })
}

/// A message-log item's record, with the attempts the store counted.
pub fn message(item: &Item) -> Result<MessageRecord, StoreError> {
    let mut record: MessageRecord = data(item)?;
    record.attempts = match item.get(ATTEMPTS) {
        Some(_) => u32::try_from(number(item, ATTEMPTS)?).unwrap_or(u32::MAX),
        None => 0,
    };
    Ok(record)
}

/// Where a record sits in its tenant's log.
pub fn log_keys(record: &MessageRecord) -> (AttributeValue, AttributeValue) {
    (s(log_partition(&record.tenant)), s(log_sort(record.at, &record.id)))
}
