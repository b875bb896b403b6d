//! The key directory: for each enabled single-tenant key with the `sms`
//! right, its tenant (one item, [`Key::key_directory`], written by `apply`
//! with the keys). The init phase reads it as its pre-warm, so that a cold
//! REST send whose key implies its tenant can take its rate slot with its
//! first request. Only a hint: that request checks the key against the
//! tenant's sending keys; a stale entry costs the long way, never a wrong
//! answer.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{DIRECTORY, Key};
use super::marshal::{Item, s};
use crate::domain::{ApiKey, Permission, TenantId};
use crate::ports::StoreError;

/// Entries kept, at most (about 75 bytes each: the item stays far under
/// DynamoDB's 400 KB); keys beyond read their key first.
pub const MAX_ENTRIES: usize = 4_000;

pub type Hints = HashMap<String, TenantId>;

/// The directory's item for these keys (all of them, as `apply` leaves them).
pub fn item(keys: &BTreeMap<String, ApiKey>) -> Item {
    let entries: HashMap<String, AttributeValue> = keys
        .iter()
        .filter(|(_, k)| k.enabled && k.allows(Permission::Sms))
        .filter_map(|(hash, k)| Some((hash.clone(), s(k.tenants.single()?.as_str()))))
        .take(MAX_ENTRIES)
        .collect();
    if entries.len() == MAX_ENTRIES {
        tracing::warn!(max = MAX_ENTRIES, "key directory full: further single-tenant keys read their key first");
    }
    Key::key_directory().with([(DIRECTORY, AttributeValue::M(entries))])
}

pub fn read(item: &Item) -> Result<Hints, StoreError> {
    let corrupt = || StoreError("corrupt key directory".to_owned());
    let entries = item.get(DIRECTORY).and_then(|m| m.as_m().ok()).ok_or_else(corrupt)?;
    entries
        .iter()
        .map(|(hash, t)| Ok((hash.clone(), t.as_s().ok().and_then(|t| TenantId::parse(t)).ok_or_else(corrupt)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{KeyHash, TenantScope};

    fn key(secret: &str, tenants: TenantScope, permissions: Vec<Permission>, enabled: bool) -> (String, ApiKey) {
        let hash = KeyHash::of(secret);
        (
            hash.as_str().to_owned(),
            ApiKey { name: secret.to_owned(), hash, tenants, permissions, enabled, created_at: 1 },
        )
    }

    #[test]
    fn only_enabled_single_tenant_sending_keys_are_listed() {
        let t = |id: &str| TenantId::parse(id).unwrap();
        let keys: BTreeMap<String, ApiKey> = [
            key("one-tenant-key-0001", TenantScope::Only(vec![t("59")]), vec![Permission::Sms], true),
            key("every-tenant-key-01", TenantScope::All, vec![Permission::Sms], true),
            key("two-tenants-key-001", TenantScope::Only(vec![t("59"), t("60")]), vec![Permission::Sms], true),
            key("disabled-key-000001", TenantScope::Only(vec![t("59")]), vec![Permission::Sms], false),
            key("extensions-only-001", TenantScope::Only(vec![t("59")]), vec![Permission::Extensions], true),
        ]
        .into();
        let hints = read(&item(&keys)).unwrap();
        assert_eq!(hints, Hints::from([(KeyHash::of("one-tenant-key-0001").as_str().to_owned(), t("59"))]));
    }
}
