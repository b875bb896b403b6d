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
/// On a message: the token of the end that last wrote it (`End::token`),
/// so that a try of that end again is known as done.
pub const WRITTEN: &str = "written";
/// On a tenant item: its sender number's registry entry (JSON, `null` when
/// the number is not in the registry), kept current by `apply`, so that one
/// read brings both.
pub const SENDER_ENTRY: &str = "sender_entry";
/// On a tenant item: the API keys that may send for it (enabled, with the
/// `sms` right, the tenant in their scope), a map from hash to the key's
/// JSON, kept current by `apply`: a cold send checks its key and takes its
/// rate slot in one write to this item.
pub const SEND_KEYS: &str = "send_keys";
/// On a tenant item: its API budget's limits, for that same write.
pub const API_PER_MINUTE: &str = "api_per_minute";
pub const API_PER_DAY: &str = "api_per_day";
/// On a tenant item: the rate counters, one per budget, window and bucket
/// (now / window): `rate_api_minute_29916667`.
pub const RATE_PREFIX: &str = "rate_";
/// On the key directory: hash to tenant id.
pub const DIRECTORY: &str = "tenants";
/// On a console session: when it was last seen, apart from its data so
/// that a touch is one `SET` (read over the data's own `seen_at`).
pub const SEEN_AT: &str = "seen_at";
/// On a failed sign-in window: how many so far.
pub const COUNT: &str = "count";
/// The audit partition that holds every entry (tenants' and the rest).
const ALL_AUDIT: &str = "*";

pub fn rate_counter(budget: MessageKind, window: Window, bucket: i64) -> String {
    format!("{RATE_PREFIX}{}_{window}_{bucket}", budget.as_str())
}

/// A rate counter's window and bucket, from its name.
pub fn rate_bucket(name: &str) -> Option<(Window, i64)> {
    let (rest, bucket) = name.strip_prefix(RATE_PREFIX)?.rsplit_once('_')?;
    let window = [Window::Minute, Window::Day].into_iter().find(|w| rest.ends_with(&format!("_{w}")))?;
    Some((window, bucket.parse().ok()?))
}

/// Voicemails waiting for their transcript, by due time: `DUE#<shard>` /
/// `<due, 20 digits>`, keys only (the id is in the item's own key). Sparse:
/// only waits carry the attributes. Spread over [`DUE_SHARDS`] partitions,
/// so that no one key takes every voicemail's write.
pub const BY_DUE: &str = "by-due";
pub const DUE_PK: &str = "due_pk";
pub const DUE_SK: &str = "due_sk";
pub const DUE_SHARDS: u32 = 4;

/// The due index's partition of a wait.
pub fn due_partition(message_id: &str) -> String {
    let hash = message_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    due_shard(hash % DUE_SHARDS)
}

pub fn due_shard(shard: u32) -> String {
    format!("DUE#{shard}")
}

pub fn due_sort(due: i64) -> String {
    format!("{due:020}")
}

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
        Key::new(format!("TENANT#{t}"), &extension_sort(x.as_str()))
    }
    pub fn number(n: &E164) -> Key {
        Key::new(format!("NUMBER#{n}"), "NUMBER")
    }
    pub fn claim(id: &str) -> Key {
        Key::new(format!("CLAIM#{id}"), "CLAIM")
    }
    /// Which tenant each single-tenant sending key names (`tenants`: hash
    /// to tenant id), kept by `apply`: the init phase reads it as it opens
    /// the connection, so that a cold REST send whose key implies its
    /// tenant can count with its read. A hint: that write checks the key.
    pub fn key_directory() -> Key {
        Key::new("KEYDIR".to_owned(), "KEYDIR")
    }
    /// A voicemail waiting for its transcript, under its message id.
    pub fn wait(message_id: &str) -> Key {
        Key::new(format!("WAIT#{message_id}"), "WAIT")
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
    /// An audit entry in one partition: its tenant's, or (`None`) the one
    /// of every entry. The id (UUIDv7) orders a partition by time.
    pub fn audit(t: Option<&TenantId>, id: &str) -> Key {
        Key::new(audit_partition(t), id)
    }
    /// Where an entry is written: the partition of every entry, and its
    /// tenant's, so that either list is one `Query`.
    pub fn audit_entry(t: Option<&TenantId>, id: &str) -> Vec<Key> {
        let mut keys = vec![Key::audit(None, id)];
        keys.extend(t.map(|t| Key::audit(Some(t), id)));
        keys
    }
    pub fn is_audit(&self) -> bool {
        self.pk.starts_with("AUDIT#")
    }
    /// A console session, under its token's hash.
    pub fn session(hash: &str) -> Key {
        Key::new(format!("SESSION#{hash}"), "SESSION")
    }
    /// Failed sign-ins from `source` in window `bucket` (now / window).
    pub fn sign_in(source: &str, bucket: i64) -> Key {
        Key::new(format!("SIGNIN#{source}"), &bucket.to_string())
    }
}

/// An extension's sort key, or (given a prefix) where its range starts.
pub fn extension_sort(x: &str) -> String {
    format!("EXT#{x}")
}

pub fn audit_partition(t: Option<&TenantId>) -> String {
    format!("AUDIT#{}", t.map_or(ALL_AUDIT, TenantId::as_str))
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
    fn rate_counters_name_their_window_and_bucket() {
        let name = rate_counter(MessageKind::Voicemail, Window::Day, 7);
        assert_eq!(name, "rate_voicemail_day_7");
        assert_eq!(rate_bucket(&name), Some((Window::Day, 7)));
        assert_eq!(
            rate_bucket(&rate_counter(MessageKind::Api, Window::Minute, 29_916_667)),
            Some((Window::Minute, 29_916_667))
        );
        assert_eq!(
            [rate_bucket("rate_api_week_1"), rate_bucket("sender_entry"), rate_bucket("rate_api_minute_x")],
            [None, None, None]
        );
    }

    #[test]
    fn ids_cannot_reach_into_other_keys() {
        // Tenant ids and extensions are digits, numbers '+' and digits:
        // none holds the '#' that separates key parts.
        let t = TenantId::parse("59").unwrap();
        assert_eq!(Key::tenant(&t).pk, "TENANT#59");
        assert_eq!(Key::extension(&t, &Extension::parse("1001").unwrap()).sk, "EXT#1001");
    }

    #[test]
    fn an_audit_entry_is_written_to_every_list_it_is_in() {
        let t = TenantId::parse("59").unwrap();
        let pks = |keys: Vec<Key>| keys.into_iter().map(|k| k.pk).collect::<Vec<_>>();
        assert_eq!(pks(Key::audit_entry(Some(&t), "id")), ["AUDIT#*", "AUDIT#59"]);
        assert_eq!(pks(Key::audit_entry(None, "id")), ["AUDIT#*"]);
        assert!(Key::audit(Some(&t), "id").is_audit() && !Key::tenant(&t).is_audit());
    }
}
