//! What operators do (the `Admin` port): changes written in transactions
//! with their audit entries, exports and key listings by scan, the log by
//! query; the console's reads and sessions are in `console`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::keys::{
    API_PER_DAY, API_PER_MINUTE, BY_TENANT_TIME, DATA, Key, LOG_PK, PK, SEND_KEYS, SENDER_ENTRY, SK, log_partition,
};
use super::marshal::{Item, data, json, message, n, s, string};
use super::{DynamoStore, MAX_BATCH, build, directory, failed};
use crate::domain::{
    ApiKey, E164, Extension, ExtensionRecord, KeyHash, MessageKind, MessageRecord, Permission, SmsNumber, Tenant,
    TenantId,
};
use crate::ports::{Admin, AuditEntry, Change, DayCount, ListQuery, Session, Snapshot, StoreError};

/// The writes a `record` makes, one per item (DynamoDB refuses a
/// transaction that touches an item twice): the last one for an item wins,
/// which gives the SQLite store's statement-by-statement result.
#[derive(Default)]
struct Writes(BTreeMap<Key, Write>);

enum Write {
    Put(Item),
    Delete,
    /// These attributes set in place (a tenant's item keeps its rate
    /// counters); `existing`: only on an item that exists.
    Set {
        attrs: Vec<(&'static str, AttributeValue)>,
        existing: bool,
    },
}

impl Writes {
    fn put(&mut self, key: Key, item: Item) {
        self.0.insert(key, Write::Put(item));
    }
    fn delete(&mut self, key: Key) {
        self.0.insert(key, Write::Delete);
    }
    fn set(&mut self, key: Key, attrs: Vec<(&'static str, AttributeValue)>, existing: bool) {
        self.0.insert(key, Write::Set { attrs, existing });
    }

    /// Tenant items first: when a configuration spans transactions, a key
    /// disabled or deleted leaves its tenants' sending keys no later than
    /// its own item changes. Audit entries last: they land with the last
    /// part, never before what they tell of.
    fn in_order(self) -> impl Iterator<Item = (Key, Write)> {
        let (audit, rest): (Vec<_>, Vec<_>) = self.0.into_iter().partition(|(key, _)| key.is_audit());
        let (tenants, rest): (Vec<_>, Vec<_>) = rest.into_iter().partition(|(key, _)| key.sk == "TENANT");
        tenants.into_iter().chain(rest).chain(audit)
    }

    /// An audit entry, in each list it belongs to; written again, the same.
    fn audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        for key in Key::audit_entry(entry.tenant.as_ref(), &entry.id) {
            let item = key.with_data(entry)?;
            self.put(key, item);
        }
        Ok(())
    }
}

/// Stored API keys, hash to name and name to hash: the two unique columns of
/// the SQLite table, for the keys an `apply` touches.
#[derive(Default)]
struct KeyIndex {
    name_of: HashMap<String, String>,
    hash_of: HashMap<String, String>,
}

impl KeyIndex {
    fn link(&mut self, hash: &str, name: &str) {
        self.name_of.insert(hash.to_owned(), name.to_owned());
        self.hash_of.insert(name.to_owned(), hash.to_owned());
    }

    /// Deletes the stored key with this hash, with its name.
    fn remove(&mut self, hash: &str, writes: &mut Writes) {
        if let Some(name) = self.name_of.remove(hash) {
            if self.hash_of.get(&name).is_some_and(|h| h == hash) {
                self.hash_of.remove(&name);
            }
            writes.delete(Key::api_key(hash));
            writes.delete(Key::key_name(&name));
        }
    }

    /// Stores a key: a stored key of the same name and another hash goes,
    /// and a stored key of the same hash loses its old name (a rename).
    fn put(&mut self, key: &ApiKey, writes: &mut Writes) -> Result<(), StoreError> {
        let hash = key.hash.as_str();
        if let Some(other) = self.hash_of.get(&key.name).filter(|h| *h != hash).cloned() {
            self.remove(&other, writes);
        }
        if self.name_of.get(hash).is_some_and(|n| *n != key.name) {
            self.remove(hash, writes);
        }
        let item = Key::api_key(hash).with_data(key)?;
        writes.put(Key::api_key(hash), item);
        let name = Key::key_name(&key.name);
        writes.put(name.clone(), name.with([("hash", s(hash))]));
        self.link(hash, &key.name);
        Ok(())
    }
}

impl DynamoStore {
    /// Writes all of them: one transaction when they fit. DynamoDB caps a
    /// transaction at 100 items, so a larger configuration goes in
    /// transactions of 100, each all-or-nothing but not the whole: it was
    /// validated whole before this point, and since `record` is idempotent,
    /// running it again completes a write that stopped halfway.
    async fn write(&self, writes: Writes) -> Result<(), StoreError> {
        let items = writes
            .in_order()
            .map(|(key, write)| {
                Ok(match write {
                    Write::Put(item) => TransactWriteItem::builder()
                        .put(Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(build)?)
                        .build(),
                    Write::Delete => TransactWriteItem::builder()
                        .delete(
                            Delete::builder()
                                .table_name(&self.table)
                                .set_key(Some(key.item()))
                                .build()
                                .map_err(build)?,
                        )
                        .build(),
                    Write::Set { attrs, existing } => {
                        TransactWriteItem::builder().update(self.set(key, attrs, existing)?).build()
                    }
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if items.len() > MAX_BATCH {
            tracing::warn!(items = items.len(), "configuration larger than one transaction: written in parts");
        }
        for chunk in items.chunks(MAX_BATCH) {
            if let Err(cancelled) = self.transact(chunk.to_vec(), None).await? {
                return Err(StoreError(format!("DynamoDB TransactWriteItems cancelled: {:?}", cancelled.codes())));
            }
        }
        Ok(())
    }

    fn set(&self, key: Key, attrs: Vec<(&'static str, AttributeValue)>, existing: bool) -> Result<Update, StoreError> {
        let sets: Vec<String> = (0..attrs.len()).map(|i| format!("#a{i} = :a{i}")).collect();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .update_expression(format!("SET {}", sets.join(", ")));
        for (i, (name, value)) in attrs.into_iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":a{i}"), value);
        }
        if existing {
            update = update.condition_expression("attribute_exists(#pk)").expression_attribute_names("#pk", PK);
        }
        update.build().map_err(build)
    }

    /// Every API key as this apply leaves them: the stored ones (a scan:
    /// admin only) with the apply's key writes over them.
    async fn keys_after(&self, writes: &Writes) -> Result<BTreeMap<String, ApiKey>, StoreError> {
        let mut keys: BTreeMap<String, ApiKey> = self
            .scan("#key = :key", SK, &[(":key", "KEY")])
            .await?
            .iter()
            .map(|i| data::<ApiKey>(i).map(|k| (k.hash.as_str().to_owned(), k)))
            .collect::<Result<_, _>>()?;
        for (key, write) in &writes.0 {
            let Some(hash) = key.pk.strip_prefix("KEY#") else { continue };
            match write {
                Write::Put(item) => keys.insert(hash.to_owned(), data(item)?),
                _ => keys.remove(hash),
            };
        }
        Ok(keys)
    }

    /// The tenant items this apply writes: the file's tenants whole, with
    /// their sender's registry entry and sending keys; the stored tenants
    /// whose sender is a number the file changes, likewise; and, when keys
    /// change, the sending keys of every other tenant they change, and the
    /// key directory.
    async fn write_tenants(
        &self,
        snapshot: &Snapshot,
        keys_changed: bool,
        writes: &mut Writes,
    ) -> Result<(), StoreError> {
        let items = match keys_changed || !snapshot.numbers.is_empty() {
            true => self.scan("#key = :tenant", SK, &[(":tenant", "TENANT")]).await?,
            false => Vec::new(),
        };
        let stored = items.iter().map(|i| Ok((data::<Tenant>(i)?, i))).collect::<Result<Vec<_>, StoreError>>()?;
        let mut whole = snapshot.tenants.clone();
        for (t, _) in &stored {
            let touched = t.sender_number.as_ref().is_some_and(|n| snapshot.numbers.iter().any(|e| &e.number == n));
            if touched && !whole.iter().any(|w| w.id == t.id) {
                whole.push(t.clone());
            }
        }
        if whole.is_empty() && !keys_changed {
            return Ok(());
        }
        let keys = self.keys_after(writes).await?;
        if keys_changed {
            writes.put(Key::key_directory(), directory::item(&keys));
        }
        let entries = self.sender_entries(snapshot, &whole).await?;
        for t in &whole {
            let entry = t.sender_number.as_ref().and_then(|n| entries.get(n));
            let limits = t.limits(MessageKind::Api);
            let attrs = vec![
                (DATA, s(json(t)?)),
                (SENDER_ENTRY, s(json(&entry)?)),
                (SEND_KEYS, sending_keys(&keys, &t.id)?),
                (API_PER_MINUTE, n(i64::from(limits.per_minute))),
                (API_PER_DAY, n(i64::from(limits.per_day))),
            ];
            writes.set(Key::tenant(&t.id), attrs, false);
        }
        for (t, item) in stored.iter().filter(|_| keys_changed) {
            let now = sending_keys(&keys, &t.id)?;
            if !whole.iter().any(|w| w.id == t.id) && item.get(SEND_KEYS) != Some(&now) {
                writes.set(Key::tenant(&t.id), vec![(SEND_KEYS, now)], true);
            }
        }
        Ok(())
    }

    /// The registry entries of these tenants' senders: from the file, or
    /// stored.
    async fn sender_entries(
        &self,
        snapshot: &Snapshot,
        tenants: &[Tenant],
    ) -> Result<BTreeMap<E164, SmsNumber>, StoreError> {
        let mut entries: BTreeMap<E164, SmsNumber> =
            snapshot.numbers.iter().map(|n| (n.number.clone(), n.clone())).collect();
        // A set: tenants may share a sender, and DynamoDB refuses a batch
        // that names a key twice.
        let missing: BTreeSet<Key> = tenants
            .iter()
            .filter_map(|t| t.sender_number.as_ref())
            .filter(|n| !entries.contains_key(*n))
            .map(Key::number)
            .collect();
        if !missing.is_empty() {
            for item in self.batch_get(missing.into_iter().collect(), true).await? {
                let n: SmsNumber = data(&item)?;
                entries.insert(n.number.clone(), n);
            }
        }
        Ok(entries)
    }

    /// What is stored of these keys (by hash) and names; consistent reads,
    /// since the writes that follow depend on them.
    async fn key_index(&self, hashes: &[&KeyHash], names: &[&str]) -> Result<KeyIndex, StoreError> {
        let mut keys: Vec<Key> = hashes.iter().map(|h| Key::api_key(h.as_str())).collect();
        keys.extend(names.iter().map(|n| Key::key_name(n)));
        keys.sort();
        keys.dedup();
        let items = self.batch_get(keys, true).await?;
        let mut index = KeyIndex::default();
        // Keys first, names after: a name item is what says which key holds
        // a name.
        let (names, keys): (Vec<&Item>, Vec<&Item>) =
            items.iter().partition(|i| string(i, SK).is_ok_and(|sk| sk == "KEYNAME"));
        for item in keys {
            let key: ApiKey = data(item)?;
            index.link(key.hash.as_str(), &key.name);
        }
        for item in names {
            let name = string(item, PK)?
                .strip_prefix("KEYNAME#")
                .ok_or_else(|| StoreError("corrupt item: key name without its prefix".to_owned()))?;
            index.link(string(item, "hash")?, name);
        }
        Ok(index)
    }
}

/// A tenant's sending keys: the enabled keys with the `sms` right whose
/// scope holds it, hash to JSON.
fn sending_keys(keys: &BTreeMap<String, ApiKey>, tenant: &TenantId) -> Result<AttributeValue, StoreError> {
    let sending = keys.iter().filter(|(_, k)| k.enabled && k.allows(Permission::Sms) && k.tenants.allows(tenant));
    Ok(AttributeValue::M(sending.map(|(h, k)| Ok((h.clone(), s(json(k)?)))).collect::<Result<_, StoreError>>()?))
}

/// Tenant ids compare as numbers first, as SQLite's `CAST(id AS INTEGER), id`.
pub(super) fn tenant_order(id: &str) -> (u64, &str) {
    (id.parse().unwrap_or(u64::MAX), id)
}

#[async_trait]
impl Admin for DynamoStore {
    async fn record(&self, change: &Change) -> Result<(), StoreError> {
        let (snapshot, delete_keys) = (&change.snapshot, change.delete_keys.as_slice());
        let mut writes = Writes::default();
        for num in &snapshot.numbers {
            let key = Key::number(&num.number);
            writes.put(key.clone(), key.with_data(num)?);
        }
        for x in &snapshot.extensions {
            let key = Key::extension(&x.tenant, &x.extension);
            writes.put(key.clone(), key.with_data(x)?);
        }
        if !delete_keys.is_empty() || !snapshot.keys.is_empty() {
            let hashes: Vec<&KeyHash> = delete_keys.iter().chain(snapshot.keys.iter().map(|k| &k.hash)).collect();
            let names: Vec<&str> = snapshot.keys.iter().map(|k| k.name.as_str()).collect();
            // Read, then write: an admin racing another admin on the same
            // key names could leave a stale name item; operators apply one
            // configuration at a time.
            let mut index = self.key_index(&hashes, &names).await?;
            for h in delete_keys {
                index.remove(h.as_str(), &mut writes);
            }
            for k in &snapshot.keys {
                index.put(k, &mut writes)?;
            }
        }
        // Last: the tenants' sending keys are the keys as written above.
        self.write_tenants(snapshot, !delete_keys.is_empty() || !snapshot.keys.is_empty(), &mut writes).await?;
        for entry in &change.audit {
            writes.audit(entry)?;
        }
        if writes.0.is_empty() {
            return Ok(());
        }
        self.write(writes).await
    }

    async fn export(&self) -> Result<Snapshot, StoreError> {
        let items = self
            .scan(
                "#key IN (:number, :tenant, :key) OR begins_with(#key, :ext)",
                SK,
                &[(":number", "NUMBER"), (":tenant", "TENANT"), (":key", "KEY"), (":ext", "EXT#")],
            )
            .await?;
        let mut snapshot = Snapshot::default();
        for item in &items {
            match string(item, SK)? {
                "NUMBER" => snapshot.numbers.push(data::<SmsNumber>(item)?),
                "TENANT" => snapshot.tenants.push(data::<Tenant>(item)?),
                "KEY" => snapshot.keys.push(data::<ApiKey>(item)?),
                _ => snapshot.extensions.push(data::<ExtensionRecord>(item)?),
            }
        }
        // The SQLite store's order, so that exports compare across stores.
        snapshot.numbers.sort_by(|a, b| a.number.as_str().cmp(b.number.as_str()));
        snapshot.tenants.sort_by(|a, b| tenant_order(a.id.as_str()).cmp(&tenant_order(b.id.as_str())));
        snapshot.extensions.sort_by(|a, b| {
            let (ta, tb) = (tenant_order(a.tenant.as_str()), tenant_order(b.tenant.as_str()));
            (ta, a.extension.as_str()).cmp(&(tb, b.extension.as_str()))
        });
        snapshot.keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(snapshot)
    }

    async fn keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let items = self.scan("#key = :key", SK, &[(":key", "KEY")]).await?;
        let mut keys = items.iter().map(data::<ApiKey>).collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    async fn messages(&self, tenant: Option<&TenantId>, limit: usize) -> Result<Vec<MessageRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let Some(tenant) = tenant else {
            // Every tenant's log: a Scan, sorted here (admin use only).
            let items = self.scan("#key = :msg", SK, &[(":msg", "MSG")]).await?;
            let mut records = items.iter().map(message).collect::<Result<Vec<_>, _>>()?;
            records.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
            records.truncate(limit);
            return Ok(records);
        };
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_TENANT_TIME)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", LOG_PK)
                .expression_attribute_values(":pk", s(log_partition(tenant)))
                .scan_index_forward(false)
                .limit(i32::try_from(limit - records.len()).unwrap_or(i32::MAX).min(1000))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| failed("Query", e))?;
            for item in out.items() {
                records.push(message(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() || records.len() >= limit {
                records.truncate(limit);
                return Ok(records);
            }
        }
    }

    async fn tenants(&self, query: ListQuery<'_>) -> Result<Vec<Tenant>, StoreError> {
        self.tenant_page(query).await
    }

    async fn extensions(&self, tenant: &TenantId, query: ListQuery<'_>) -> Result<Vec<ExtensionRecord>, StoreError> {
        self.extension_page(tenant, query).await
    }

    async fn extension(&self, tenant: &TenantId, x: &Extension) -> Result<Option<ExtensionRecord>, StoreError> {
        self.get(Key::extension(tenant, x)).await?.as_ref().map(data).transpose()
    }

    async fn numbers(&self) -> Result<Vec<SmsNumber>, StoreError> {
        // A Scan, sorted as SQLite's: admin only, as the export.
        let items = self.scan("#key = :number", SK, &[(":number", "NUMBER")]).await?;
        let mut numbers = items.iter().map(data::<SmsNumber>).collect::<Result<Vec<_>, _>>()?;
        numbers.sort_by(|a, b| a.number.as_str().cmp(b.number.as_str()));
        Ok(numbers)
    }

    async fn daily_counts(&self, tenant: &TenantId, since: i64, until: i64) -> Result<Vec<DayCount>, StoreError> {
        self.count_days(tenant, since, until).await
    }

    async fn audit(&self, tenant: Option<&TenantId>, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_log(tenant, limit).await
    }

    async fn open_session(&self, session: &Session) -> Result<(), StoreError> {
        self.put_session(session).await
    }

    async fn session(&self, hash: &KeyHash) -> Result<Option<Session>, StoreError> {
        self.get_session(hash).await
    }

    async fn touch_session(&self, hash: &KeyHash, seen_at: i64) -> Result<(), StoreError> {
        self.mark_seen(hash, seen_at).await
    }

    async fn close_session(&self, hash: &KeyHash) -> Result<(), StoreError> {
        self.delete_session(hash).await
    }

    async fn failed_sign_in(&self, source: &str, now: i64, window_secs: i64) -> Result<u32, StoreError> {
        self.count_sign_in(source, now, window_secs).await
    }

    async fn sign_in_failures(&self, source: &str, now: i64, window_secs: i64) -> Result<u32, StoreError> {
        self.sign_in_count(source, now, window_secs).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantScope;

    fn key(name: &str, secret: &str) -> ApiKey {
        ApiKey {
            name: name.to_owned(),
            hash: KeyHash::of(secret),
            tenants: TenantScope::All,
            permissions: vec![Permission::Sms],
            enabled: true,
            created_at: 1,
        }
    }

    fn ops(writes: &Writes) -> Vec<(String, bool)> {
        writes.0.iter().map(|(k, v)| (k.pk.clone(), matches!(v, Write::Put(_)))).collect()
    }

    #[test]
    fn tenant_items_are_written_before_keys() {
        let mut writes = Writes::default();
        let k = key("pbx", "some-secret-0123456789");
        writes.delete(Key::api_key(k.hash.as_str()));
        writes.delete(Key::key_name("pbx"));
        writes.set(Key::tenant(&TenantId::parse("59").unwrap()), vec![], true);
        writes.put(Key::number(&E164::parse("+14165550000").unwrap()), Item::new());
        writes.set(Key::tenant(&TenantId::parse("7").unwrap()), vec![], true);
        let order: Vec<String> = writes.in_order().map(|(k, _)| k.pk).collect();
        assert_eq!(&order[..2], ["TENANT#59", "TENANT#7"]);
        assert!(order[2..].iter().all(|pk| !pk.starts_with("TENANT#")), "{order:?}");
    }

    #[test]
    fn audit_entries_are_written_last() {
        let t = TenantId::parse("59").unwrap();
        let entry = AuditEntry {
            id: "019a0001-7b2c-7000-8000-000000000001".to_owned(),
            at: 1,
            who: "ops".to_owned(),
            tenant: Some(t.clone()),
            what: "tenant 59".to_owned(),
            before: None,
            after: None,
        };
        let mut writes = Writes::default();
        writes.audit(&entry).unwrap();
        writes.set(Key::tenant(&t), vec![], false);
        writes.put(Key::number(&E164::parse("+14165550000").unwrap()), Item::new());
        writes.put(Key::extension(&t, &Extension::parse("1001").unwrap()), Item::new());
        let order: Vec<String> = writes.in_order().map(|(k, _)| k.pk).collect();
        assert_eq!(order, ["TENANT#59", "NUMBER#+14165550000", "TENANT#59", "AUDIT#*", "AUDIT#59"]);
    }

    #[test]
    fn a_rotated_key_replaces_the_old_hash() {
        let old = key("pbx", "old-secret-0123456789");
        let new = key("pbx", "new-secret-0123456789");
        let mut index = KeyIndex::default();
        index.link(old.hash.as_str(), "pbx");
        let mut writes = Writes::default();
        index.put(&new, &mut writes).unwrap();
        let mut expected = vec![
            (format!("KEY#{}", old.hash.as_str()), false),
            (format!("KEY#{}", new.hash.as_str()), true),
            ("KEYNAME#pbx".to_owned(), true),
        ];
        expected.sort();
        assert_eq!(ops(&writes), expected);
    }

    #[test]
    fn a_renamed_key_loses_its_old_name() {
        let k = key("new-name", "same-secret-0123456789");
        let mut index = KeyIndex::default();
        index.link(k.hash.as_str(), "old-name");
        let mut writes = Writes::default();
        index.put(&k, &mut writes).unwrap();
        let mut expected = vec![
            (format!("KEY#{}", k.hash.as_str()), true),
            ("KEYNAME#new-name".to_owned(), true),
            ("KEYNAME#old-name".to_owned(), false),
        ];
        expected.sort();
        assert_eq!(ops(&writes), expected);
        // Deleting it afterwards takes the new name with it.
        let mut writes = Writes::default();
        index.remove(k.hash.as_str(), &mut writes);
        assert_eq!(ops(&writes).len(), 2);
        assert!(ops(&writes).iter().all(|(_, put)| !put));
    }
}
