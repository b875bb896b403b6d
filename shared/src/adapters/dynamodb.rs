//! The production store: one DynamoDB table, single-table design (key layout
//! in docs/aws.md). Same semantics as the SQLite store; every hot-path
//! operation is one request: `lookup` one `BatchGetItem`, `claim` one
//! conditional `PutItem`, `take_rate` one `TransactWriteItems`,
//! `record_message` one `PutItem`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType,
    KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Snapshot;
use crate::domain::{
    ApiKey, E164, Extension, ExtensionRecord, KeyHash, MessageRecord, RateLimits, SmsNumber,
    Tenant, TenantId, Window,
};
use crate::ports::{Admin, Found, Held, Lookup, Store, StoreError};

type Item = HashMap<String, AttributeValue>;

const PK: &str = "PK";
const SK: &str = "SK";
/// The domain value, as JSON (the same serde form the SQLite store keeps).
const DATA: &str = "data";
/// The table's TTL attribute (epoch seconds).
const EXPIRES_AT: &str = "expires_at";

/// DynamoDB caps a `BatchGetItem` and a `TransactWriteItems` at 100 items.
const MAX_BATCH: usize = 100;
/// Attempts for what DynamoDB leaves to the caller to retry (unprocessed
/// batch keys, transaction conflicts); the SDK retries throttled requests.
const ATTEMPTS: u32 = 6;
/// How long `create_table` waits for a new table to become active.
const TABLE_WAIT: Duration = Duration::from_secs(300);

pub struct DynamoStore {
    client: Client,
    table: String,
}

/// An item's primary key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    pk: String,
    sk: String,
}

impl Key {
    fn new(pk: String, sk: &str) -> Key {
        Key { pk, sk: sk.to_owned() }
    }
    fn api_key(hash: &str) -> Key {
        Key::new(format!("KEY#{hash}"), "KEY")
    }
    /// Keeps key names unique, as the SQLite column constraint does.
    fn key_name(name: &str) -> Key {
        Key::new(format!("KEYNAME#{name}"), "KEYNAME")
    }
    fn tenant(t: &TenantId) -> Key {
        Key::new(format!("TENANT#{t}"), "TENANT")
    }
    /// Under the tenant's partition, so that one `BatchGetItem` built from
    /// the request reads both.
    fn extension(t: &TenantId, x: &Extension) -> Key {
        Key::new(format!("TENANT#{t}"), &format!("EXT#{x}"))
    }
    fn number(n: &E164) -> Key {
        Key::new(format!("NUMBER#{n}"), "NUMBER")
    }
    fn claim(id: &str) -> Key {
        Key::new(format!("CLAIM#{id}"), "CLAIM")
    }
    fn rate(t: &TenantId, window: Window, bucket: i64) -> Key {
        Key::new(format!("RATE#{t}#{window}#{bucket}"), "RATE")
    }
    /// Zero-padded time first: a reverse Query returns the newest first,
    /// ties by id, as SQLite's `ORDER BY at DESC, id DESC`.
    fn log(r: &MessageRecord) -> Key {
        Key::new(log_partition(&r.tenant), &format!("{:020}#{}", r.at, r.id))
    }

    fn item(&self) -> Item {
        HashMap::from([(PK.to_owned(), s(&self.pk)), (SK.to_owned(), s(&self.sk))])
    }

    /// The key with these attributes.
    fn with<'a>(&self, attrs: impl IntoIterator<Item = (&'a str, AttributeValue)>) -> Item {
        let mut item = self.item();
        item.extend(attrs.into_iter().map(|(k, v)| (k.to_owned(), v)));
        item
    }

    fn with_data<T: Serialize>(&self, value: &T) -> Result<Item, StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError(e.to_string()))?;
        Ok(self.with([(DATA, s(json))]))
    }
}

fn log_partition(t: &TenantId) -> String {
    format!("LOG#{t}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn failed<E, R>(op: &str, e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError(format!("DynamoDB {op}: {}", DisplayErrorContext(&e)))
}

fn build(e: BuildError) -> StoreError {
    StoreError(format!("DynamoDB request: {e}"))
}

fn attr<'a>(item: &'a Item, name: &str) -> Result<&'a AttributeValue, StoreError> {
    item.get(name)
        .ok_or_else(|| StoreError(format!("corrupt item: no attribute {name}")))
}

fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    attr(item, name)?
        .as_s()
        .map(String::as_str)
        .map_err(|_| StoreError(format!("corrupt item: {name} is not a string")))
}

fn number(item: &Item, name: &str) -> Result<i64, StoreError> {
    attr(item, name)?
        .as_n()
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError(format!("corrupt item: {name} is not an integer")))
}

fn boolean(item: &Item, name: &str) -> Result<bool, StoreError> {
    attr(item, name)?
        .as_bool()
        .copied()
        .map_err(|_| StoreError(format!("corrupt item: {name} is not a boolean")))
}

fn data<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(string(item, DATA)?).map_err(|e| StoreError(format!("corrupt item: {e}")))
}

/// A wait before the next attempt: exponential, with full jitter so that
/// writers racing for the same items spread out.
async fn backoff(attempt: u32) {
    let cap_ms = 25u64 << attempt.min(6);
    tokio::time::sleep(Duration::from_millis(rand::random_range(1..=cap_ms))).await;
}

/// How a transaction ended when DynamoDB cancelled it: one reason code per
/// item, in the request's order ("None" for items that were fine).
struct Cancelled(Vec<String>);

impl Cancelled {
    fn condition_failed(&self, index: usize) -> bool {
        self.0.get(index).is_some_and(|c| c == "ConditionalCheckFailed")
    }
}

/// Reasons that say nothing about the data: another writer or throttling.
fn worth_retrying(reasons: &[String]) -> bool {
    reasons.iter().all(|c| {
        matches!(c.as_str(), "None" | "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
    })
}

/// The writes an `apply` makes, one per item (DynamoDB refuses a
/// transaction that touches an item twice): the last one for an item wins,
/// which gives the SQLite store's statement-by-statement result.
#[derive(Default)]
struct Writes(BTreeMap<Key, Option<Item>>);

impl Writes {
    fn put(&mut self, key: Key, item: Item) {
        self.0.insert(key, Some(item));
    }
    fn delete(&mut self, key: Key) {
        self.0.insert(key, None);
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
    pub fn new(aws: &aws_config::SdkConfig, table: &str) -> Self {
        DynamoStore {
            client: Client::new(aws),
            table: table.to_owned(),
        }
    }

    /// Creates the table (on-demand billing) unless it exists, waits until
    /// it is active, and turns TTL on for `expires_at`. Safe to run again.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(PK)?)
            .attribute_definitions(attribute(SK)?)
            .key_schema(key_schema(PK, KeyType::Hash)?)
            .key_schema(key_schema(SK, KeyType::Range)?)
            .send()
            .await;
        match created {
            Ok(_) => tracing::info!(table = %self.table, "table created"),
            Err(e) if matches!(e.as_service_error(), Some(CreateTableError::ResourceInUseException(_))) => {
                tracing::info!(table = %self.table, "table exists");
            }
            Err(e) => return Err(failed("CreateTable", e)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(TABLE_WAIT)
            .await
            .map_err(|e| StoreError(format!("DynamoDB table {} not active: {}", self.table, DisplayErrorContext(&e))))?;
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| failed("DescribeTimeToLive", e))?;
        let on = ttl.time_to_live_description().is_some_and(|d| {
            d.attribute_name() == Some(EXPIRES_AT)
                && matches!(d.time_to_live_status(), Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling))
        });
        if !on {
            let spec = TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(EXPIRES_AT)
                .build()
                .map_err(build)?;
            self.client
                .update_time_to_live()
                .table_name(&self.table)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| failed("UpdateTimeToLive", e))?;
        }
        Ok(())
    }

    /// Reads items by key: one `BatchGetItem` per 100 keys, plus retries for
    /// keys DynamoDB left unprocessed (throttling, response size).
    async fn batch_get(&self, keys: Vec<Key>, consistent: bool) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::with_capacity(keys.len());
        let mut pending: Vec<Item> = keys.iter().map(Key::item).collect();
        while !pending.is_empty() {
            let rest = pending.split_off(pending.len().min(MAX_BATCH));
            let mut batch = std::mem::replace(&mut pending, rest);
            let mut attempt = 0;
            loop {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(batch))
                    .consistent_read(consistent)
                    .build()
                    .map_err(build)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| failed("BatchGetItem", e))?;
                items.extend(out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
                batch = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if batch.is_empty() {
                    break;
                }
                if attempt + 1 >= ATTEMPTS {
                    return Err(StoreError(format!(
                        "DynamoDB BatchGetItem: {} keys still unprocessed after {ATTEMPTS} attempts",
                        batch.len()
                    )));
                }
                backoff(attempt).await;
                attempt += 1;
            }
        }
        Ok(items)
    }

    /// Runs one transaction; cancellations that only report conflicts with
    /// other writers (or throttling) are retried. `Ok(Err(_))`: cancelled,
    /// with the reasons.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Result<(), Cancelled>, StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let e = match result {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let reasons = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_owned())
                    .collect::<Vec<_>>(),
                _ => return Err(failed("TransactWriteItems", e)),
            };
            if !worth_retrying(&reasons) || attempt + 1 >= ATTEMPTS {
                return Ok(Err(Cancelled(reasons)));
            }
            tracing::debug!(?reasons, attempt, "transaction cancelled, retrying");
            backoff(attempt).await;
            attempt += 1;
        }
    }

    /// Writes all of them: one transaction when they fit. DynamoDB caps a
    /// transaction at 100 items, so a larger configuration goes in
    /// transactions of 100, each all-or-nothing but not the whole: it was
    /// validated whole before this point, and since `apply` is idempotent,
    /// running it again completes a write that stopped halfway.
    async fn write(&self, writes: Writes) -> Result<(), StoreError> {
        let items = writes
            .0
            .into_iter()
            .map(|(key, item)| {
                Ok(match item {
                    Some(item) => TransactWriteItem::builder()
                        .put(Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(build)?)
                        .build(),
                    None => TransactWriteItem::builder()
                        .delete(Delete::builder().table_name(&self.table).set_key(Some(key.item())).build().map_err(build)?)
                        .build(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if items.len() > MAX_BATCH {
            tracing::warn!(items = items.len(), "configuration larger than one transaction: written in parts");
        }
        for chunk in items.chunks(MAX_BATCH) {
            if let Err(Cancelled(reasons)) = self.transact(chunk.to_vec()).await? {
                return Err(StoreError(format!("DynamoDB TransactWriteItems cancelled: {reasons:?}")));
            }
        }
        Ok(())
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

    /// Every item a `Scan` with this filter returns; `key` is the key
    /// attribute the filter names as `#key`.
    async fn scan(&self, filter: &str, key: &str, values: &[(&str, &str)]) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression(filter)
                .expression_attribute_names("#key", key)
                .set_exclusive_start_key(start);
            for (name, value) in values {
                request = request.expression_attribute_values(*name, s(*value));
            }
            let out = request.send().await.map_err(|e| failed("Scan", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

fn attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build)
}

fn key_schema(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(build)
}

/// A held claim, from the item that made the conditional put fail.
fn held(item: &Item) -> Result<Held, StoreError> {
    let fingerprint = string(item, "fingerprint")?.to_owned();
    Ok(if boolean(item, "done")? {
        Held::Done {
            fingerprint,
            result: item
                .get("result")
                .and_then(|r| r.as_s().ok())
                .cloned()
                .unwrap_or_default(),
        }
    } else {
        Held::Pending {
            fingerprint,
            lease_until: number(item, "lease_until")?,
        }
    })
}

/// Tenant ids compare as numbers first, as SQLite's `CAST(id AS INTEGER), id`.
fn tenant_order(t: &TenantId) -> (u64, &str) {
    (t.as_str().parse().unwrap_or(u64::MAX), t.as_str())
}

#[async_trait]
impl Store for DynamoStore {
    async fn lookup(&self, l: Lookup<'_>) -> Result<Found, StoreError> {
        let mut keys = Vec::with_capacity(4);
        if let Some(h) = l.key {
            keys.push(Key::api_key(h.as_str()));
        }
        if let Some(t) = l.tenant {
            keys.push(Key::tenant(t));
            if let Some(x) = l.extension {
                keys.push(Key::extension(t, x));
            }
        }
        if let Some(num) = l.number {
            keys.push(Key::number(num));
        }
        let mut found = Found::default();
        if keys.is_empty() {
            return Ok(found);
        }
        // Eventually consistent: configuration changes reach the hot path
        // within a second, at half the read cost.
        for item in self.batch_get(keys, false).await? {
            match string(&item, SK)? {
                "KEY" => found.key = Some(data(&item)?),
                "TENANT" => found.tenant = Some(data(&item)?),
                "NUMBER" => found.number = Some(data(&item)?),
                sk if sk.starts_with("EXT#") => found.extension = Some(data(&item)?),
                other => return Err(StoreError(format!("unexpected item {other} in lookup"))),
            }
        }
        Ok(found)
    }

    async fn claim(&self, id: &str, fingerprint: &str, now: i64, lease_secs: i64) -> Result<Option<Held>, StoreError> {
        let lease_until = now + lease_secs;
        let item = Key::claim(id).with([
            ("fingerprint", s(fingerprint)),
            ("done", AttributeValue::Bool(false)),
            ("lease_until", n(lease_until)),
            (EXPIRES_AT, n(lease_until)),
        ]);
        // Takeable: absent, expired (TTL deletes lazily), or pending with
        // its lease run out. The failed condition returns the holder's item,
        // so the verdict is as atomic as the write.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now OR (#done = :no AND #lease <= :now)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let item = c
                        .item()
                        .ok_or_else(|| StoreError("DynamoDB PutItem: claim refused without the holder's item".to_owned()))?;
                    held(item).map(Some)
                }
                _ => Err(failed("PutItem", e)),
            },
        }
    }

    async fn finish_claim(&self, id: &str, result: &str, now: i64, keep_secs: i64) -> Result<(), StoreError> {
        // Like SQLite's UPDATE: a claim that is gone stays gone.
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Key::claim(id).item()))
            .update_expression("SET #done = :yes, #result = :result, #exp = :exp")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#result", "result")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":result", s(result))
            .expression_attribute_values(":exp", n(now + keep_secs))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => Ok(()),
            Err(e) => Err(failed("UpdateItem", e)),
        }
    }

    async fn release_claim(&self, id: &str) -> Result<(), StoreError> {
        // Only a pending claim goes: a finished one must stay to block redeliveries.
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::claim(id).item()))
            .condition_expression("#done = :no")
            .expression_attribute_names("#done", "done")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(DeleteItemError::ConditionalCheckFailedException(_))) => Ok(()),
            Err(e) => Err(failed("DeleteItem", e)),
        }
    }

    async fn take_rate(&self, tenant: &TenantId, limits: RateLimits, now: i64) -> Result<Option<Window>, StoreError> {
        let windows = [(Window::Minute, limits.per_minute), (Window::Day, limits.per_day)];
        let mut items = Vec::with_capacity(windows.len());
        for (window, limit) in windows {
            let bucket = now / window.seconds();
            // A missing counter is zero, which a limit of zero refuses too.
            let condition = if limit == 0 { "#count < :limit" } else { "attribute_not_exists(#count) OR #count < :limit" };
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(Key::rate(tenant, window, bucket).item()))
                .update_expression("ADD #count :one SET #exp = :exp")
                .condition_expression(condition)
                .expression_attribute_names("#count", "count")
                .expression_attribute_names("#exp", EXPIRES_AT)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(i64::from(limit)))
                .expression_attribute_values(":exp", n((bucket + 1) * window.seconds()))
                .build()
                .map_err(build)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        match self.transact(items).await? {
            Ok(()) => Ok(None),
            // Both full: the minute answers, as in SQLite, which checks it first.
            Err(c) => match windows.iter().enumerate().find(|(i, _)| c.condition_failed(*i)) {
                Some((_, (window, _))) => Ok(Some(*window)),
                None => Err(StoreError(format!("DynamoDB TransactWriteItems cancelled: {:?}", c.0))),
            },
        }
    }

    async fn record_message(&self, record: &MessageRecord, keep_secs: i64) -> Result<(), StoreError> {
        let key = Key::log(record);
        let mut item = key.with_data(record)?;
        item.insert(EXPIRES_AT.to_owned(), n(record.at + keep_secs));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| failed("PutItem", e))?;
        Ok(())
    }
}

#[async_trait]
impl Admin for DynamoStore {
    async fn apply(&self, snapshot: &Snapshot, delete_keys: &[KeyHash]) -> Result<(), StoreError> {
        let mut writes = Writes::default();
        for num in &snapshot.numbers {
            let key = Key::number(&num.number);
            writes.put(key.clone(), key.with_data(num)?);
        }
        for t in &snapshot.tenants {
            let key = Key::tenant(&t.id);
            writes.put(key.clone(), key.with_data(t)?);
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
        snapshot.tenants.sort_by(|a, b| tenant_order(&a.id).cmp(&tenant_order(&b.id)));
        snapshot.extensions.sort_by(|a, b| {
            (tenant_order(&a.tenant), a.extension.as_str()).cmp(&(tenant_order(&b.tenant), b.extension.as_str()))
        });
        snapshot.keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(snapshot)
    }

    async fn put_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.apply(&Snapshot { keys: vec![key.clone()], ..Snapshot::default() }, &[]).await
    }

    async fn keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let items = self.scan("#key = :key", SK, &[(":key", "KEY")]).await?;
        let mut keys = items.iter().map(data::<ApiKey>).collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    async fn delete_key(&self, hash: &KeyHash) -> Result<(), StoreError> {
        self.apply(&Snapshot::default(), std::slice::from_ref(hash)).await
    }

    async fn messages(&self, tenant: Option<&TenantId>, limit: usize) -> Result<Vec<MessageRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let Some(tenant) = tenant else {
            // Every tenant's log: a Scan, sorted here (admin use only).
            let items = self.scan("begins_with(#key, :log)", PK, &[(":log", "LOG#")]).await?;
            let mut records = items.iter().map(data::<MessageRecord>).collect::<Result<Vec<_>, _>>()?;
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
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(log_partition(tenant)))
                .scan_index_forward(false)
                .limit(i32::try_from(limit - records.len()).unwrap_or(i32::MAX).min(1000))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| failed("Query", e))?;
            for item in out.items() {
                records.push(data::<MessageRecord>(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() || records.len() >= limit {
                records.truncate(limit);
                return Ok(records);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Permission, TenantScope};

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
        writes.0.iter().map(|(k, v)| (k.pk.clone(), v.is_some())).collect()
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

    #[test]
    fn log_keys_order_by_time_then_id() {
        let rec = |at: i64, id: &str| MessageRecord {
            id: id.to_owned(),
            tenant: TenantId::parse("59").unwrap(),
            kind: crate::domain::MessageKind::Api,
            from: String::new(),
            to: String::new(),
            status: crate::domain::MessageStatus::Sent,
            provider_id: None,
            segments: 1,
            error: None,
            at,
        };
        let mut sks = [Key::log(&rec(100, "b")).sk, Key::log(&rec(99, "z")).sk, Key::log(&rec(100, "a")).sk];
        sks.sort();
        assert_eq!(sks[0], format!("{:020}#z", 99));
        assert_eq!(sks[2], format!("{:020}#b", 100));
    }
}
