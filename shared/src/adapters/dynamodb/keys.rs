//! The key design of the single table (docs/aws.md): which item holds what,
//! under which key, and the indexes over them.

use crate::domain::{E164, Extension, MessageKind, TenantId, Window};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// The domain value, as JSON (the same serde form the SQLite store keeps).
pub const DATA: &str = "data";
/// The table's TTL attribute (epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";

/// A tenant's message log by time: `LOG#<tenant>` / `<at, 20 digits>#<id>`.
pub const BY_TENANT_TIME: &str = "by-tenant-time";
pub const LOG_PK: &str = "log_pk";
pub const LOG_SK: &str = "log_sk";
/// Messages by their provider's id (SNS's message id), for receipts.
pub const BY_PROVIDER_ID: &str = "by-provider-id";
pub const PROVIDER_ID: &str = "provider_id";
/// Send attempts of a message, counted by the store.
pub const ATTEMPTS: &str = "attempts";
/// On a tenant item: its sender number's registry entry (JSON, `null` when
/// the number is not in the registry), kept current by `apply`, so that one
/// read brings both.
pub const SENDER_ENTRY: &str = "sender_entry";
/// A message's status, sender and destination beside its data, for the
/// log's filters.
pub const STATUS: &str = "status";
pub const SENDER: &str = "sender";
pub const RECIPIENT: &str = "recipient";

/// An item's primary key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: &str) -> Key {
        Key { pk, sk: sk.to_owned() }
    }
    pub fn api_key(hash: &str) -> Key {
        Key::new(format!("KEY#{hash}"), "KEY")
    }
    /// Keeps key names unique, as the SQLite column constraint does.
    pub fn key_name(name: &str) -> Key {
        Key::new(format!("KEYNAME#{name}"), "KEYNAME")
    }
    pub fn tenant(t: &TenantId) -> Key {
        Key::new(format!("TENANT#{t}"), "TENANT")
    }
    /// Under the tenant's partition, so that one `BatchGetItem` built from
    /// the request reads both.
    pub fn extension(t: &TenantId, x: &Extension) -> Key {
        Key::new(format!("TENANT#{t}"), &format!("EXT#{x}"))
    }
    pub fn number(n: &E164) -> Key {
        Key::new(format!("NUMBER#{n}"), "NUMBER")
    }
    pub fn claim(id: &str) -> Key {
        Key::new(format!("CLAIM#{id}"), "CLAIM")
    }
    /// One counter per tenant, budget, window and bucket (now / window).
    pub fn rate(t: &TenantId, budget: MessageKind, window: Window, bucket: i64) -> Key {
        Key::new(format!("RATE#{t}#{}#{window}#{bucket}", budget.as_str()), "RATE")
    }
    /// No item lives here: the init phase reads it to open a connection.
    pub fn prewarm() -> Key {
        Key::new("PREWARM".to_owned(), "PREWARM")
    }
    /// A recording link, under its token's hash.
    pub fn link(hash: &str) -> Key {
        Key::new(format!("LINK#{hash}"), "LINK")
    }
    /// Keyed by id, so every write of one message (retries, receipts)
    /// updates it in place; listed by tenant and time through an index.
    pub fn message(id: &str) -> Key {
        Key::new(format!("MSG#{id}"), "MSG")
    }
}

pub fn log_partition(t: &TenantId) -> String {
    format!("LOG#{t}")
}

/// Zero-padded time first: a reverse query returns the newest first, ties
/// by id, as SQLite's `ORDER BY at DESC, id DESC`.
pub fn log_sort(at: i64, id: &str) -> String {
    format!("{at:020}#{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_order_by_time_then_id() {
        let mut sks = [log_sort(100, "b"), log_sort(99, "z"), log_sort(100, "a")];
        sks.sort();
        assert_eq!(sks, [format!("{:020}#z", 99), format!("{:020}#a", 100), format!("{:020}#b", 100)]);
    }

    #[test]
    fn ids_cannot_reach_into_other_keys() {
        // Tenant ids and extensions are digits, numbers '+' and digits:
        // none holds the '#' that separates key parts.
        let t = TenantId::parse("59").unwrap();
        assert_eq!(Key::rate(&t, MessageKind::Voicemail, Window::Day, 7).pk, "RATE#59#voicemail#day#7");
        assert_eq!(Key::extension(&t, &Extension::parse("1001").unwrap()).sk, "EXT#1001");
    }
}
