//! The production store: one DynamoDB table, single-table design.
//!
//! - [`keys`]: which item lives under which key, and the indexes.
//! - [`marshal`]: items to domain values and back.
//! - `store`: the hot path (the `Store` port): `lookup` one `BatchGetItem`
//!   (or, for a cold send, one `UpdateItem` that also takes its rate slot),
//!   `begin` and `finish` one transaction each, or none for a `begin` on
//!   a rate slot this instance holds ([`slots`]).
//! - [`counters`]: the rate counters, on the tenant's item.
//! - [`directory`]: which tenant a single-tenant key names, read at init.
//! - `waits`: voicemails waiting for their transcript, read by due time.
//! - `admin`: what operators do (the `Admin` port); `console`: the
//!   console's own part of it (pages, the audit log, sessions, sign-ins).
//!
//! This file holds the table itself and the request patterns the two share:
//! batched reads, retried transactions, scans.

mod admin;
mod console;
mod counters;
mod directory;
mod keys;
mod marshal;
mod slots;
mod store;
mod waits;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CancellationReason, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem,
};

use keys::{
    BY_DUE, BY_PROVIDER_ID, BY_TENANT_TIME, DUE_PK, DUE_SK, EXPIRES_AT, Key, LOG_PK, LOG_SK, PK, PROVIDER_ID, SK,
};
use marshal::{Item, s};

use crate::ports::StoreError;

/// DynamoDB caps a `BatchGetItem` and a `TransactWriteItems` at 100 items.
const MAX_BATCH: usize = 100;
/// Attempts for what DynamoDB leaves to the caller to retry (unprocessed
/// batch keys, transaction conflicts); the SDK retries throttled requests.
const ATTEMPTS: u32 = 6;
/// How long `create_table` waits for the table and its indexes.
const TABLE_WAIT: Duration = Duration::from_secs(300);

pub struct DynamoStore {
    client: Client,
    table: String,
    slots: slots::Slots,
    /// The rate counters seen on each tenant's item, to remove past ones.
    seen: counters::Seen,
    /// The key directory as the init phase read it: hash to tenant.
    hints: std::sync::RwLock<directory::Hints>,
    /// Started on a held slot, their log entry not written yet: its id,
    /// with the budget that will reserve the next block.
    unlogged:
        std::sync::Mutex<std::collections::HashMap<String, (crate::domain::MessageKind, crate::domain::RateLimits)>>,
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

/// A wait before the next attempt: exponential, with full jitter so that
/// writers racing for the same items spread out.
async fn backoff(attempt: u32) {
    let cap_ms = 25u64 << attempt.min(6);
    tokio::time::sleep(Duration::from_millis(rand::random_range(1..=cap_ms))).await;
}

/// How a transaction ended when DynamoDB cancelled it: one reason per item,
/// in the request's order (code "None" for items that were fine), with the
/// item that failed its condition when it was asked for.
struct Cancelled(Vec<CancellationReason>);

impl Cancelled {
    fn condition_failed(&self, index: usize) -> Option<&CancellationReason> {
        self.0.get(index).filter(|r| r.code() == Some("ConditionalCheckFailed"))
    }

    fn codes(&self) -> Vec<&str> {
        self.0.iter().map(|r| r.code().unwrap_or("None")).collect()
    }

    /// Reasons that say nothing about the data: another writer or throttling.
    fn worth_retrying(&self) -> bool {
        self.codes()
            .iter()
            .all(|c| matches!(*c, "None" | "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"))
    }
}

impl DynamoStore {
    pub fn new(aws: &aws_config::SdkConfig, table: &str) -> Self {
        DynamoStore {
            client: Client::new(aws),
            table: table.to_owned(),
            slots: Default::default(),
            seen: Default::default(),
            hints: Default::default(),
            unlogged: Default::default(),
        }
    }

    /// Opens the connection in the init phase, so the first request needs
    /// no TLS handshake: the read is the key directory's, kept as this
    /// instance's hints. A failure is logged: the first request then
    /// connects, and REST sends read their key first.
    pub async fn prewarm(&self) {
        match self.batch_get(vec![Key::key_directory()], false).await {
            Ok(items) => match items.first().map(directory::read).transpose() {
                Ok(hints) => *self.hints.write().unwrap_or_else(|p| p.into_inner()) = hints.unwrap_or_default(),
                Err(e) => tracing::warn!(error = %e, "unreadable key directory; REST sends read their key first"),
            },
            Err(e) => tracing::warn!(error = %e, "DynamoDB pre-warm failed; the first request connects"),
        }
    }

    /// Creates the table (on-demand billing) unless it exists, adds the
    /// indexes it lacks, waits until all are active, and turns TTL on for
    /// `expires_at`. Safe to run again.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(attributes()?))
            .key_schema(key_schema(PK, KeyType::Hash)?)
            .key_schema(key_schema(SK, KeyType::Range)?)
            .set_global_secondary_indexes(Some(vec![log_index()?, provider_index()?, due_index()?]))
            .send()
            .await;
        match created {
            Ok(_) => tracing::info!(table = %self.table, "table created"),
            Err(e) if matches!(e.as_service_error(), Some(CreateTableError::ResourceInUseException(_))) => {
                tracing::info!(table = %self.table, "table exists");
                self.add_missing_indexes().await?;
            }
            Err(e) => return Err(failed("CreateTable", e)),
        }
        self.wait_active().await?;
        self.enable_ttl().await
    }

    /// A table made by an earlier version gets the indexes one at a time,
    /// as DynamoDB allows.
    async fn add_missing_indexes(&self) -> Result<(), StoreError> {
        let existing: Vec<String> = self
            .describe()
            .await?
            .map(|t| t.global_secondary_indexes().iter().filter_map(|i| i.index_name().map(str::to_owned)).collect())
            .unwrap_or_default();
        for index in [log_index()?, provider_index()?, due_index()?] {
            if existing.iter().any(|e| e == index.index_name()) {
                continue;
            }
            self.wait_active().await?;
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(index.index_name())
                .set_key_schema(Some(index.key_schema().to_vec()))
                .set_projection(index.projection().cloned())
                .build()
                .map_err(build)?;
            self.client
                .update_table()
                .table_name(&self.table)
                .set_attribute_definitions(Some(attributes()?))
                .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
                .send()
                .await
                .map_err(|e| failed("UpdateTable", e))?;
            tracing::info!(table = %self.table, index = index.index_name(), "index added");
        }
        Ok(())
    }

    async fn describe(&self) -> Result<Option<aws_sdk_dynamodb::types::TableDescription>, StoreError> {
        let out = self.client.describe_table().table_name(&self.table).send().await;
        Ok(out.map_err(|e| failed("DescribeTable", e))?.table)
    }

    async fn wait_active(&self) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + TABLE_WAIT;
        self.client.wait_until_table_exists().table_name(&self.table).wait(TABLE_WAIT).await.map_err(|e| {
            StoreError(format!("DynamoDB table {} not active: {}", self.table, DisplayErrorContext(&e)))
        })?;
        // The waiter looks at the table only; new indexes build afterwards.
        loop {
            let building = self.describe().await?.is_some_and(|t| {
                t.global_secondary_indexes().iter().any(|i| i.index_status().is_some_and(|s| s.as_str() != "ACTIVE"))
            });
            if !building {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(StoreError(format!("DynamoDB table {}: indexes still building", self.table)));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    async fn enable_ttl(&self) -> Result<(), StoreError> {
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
            let spec =
                TimeToLiveSpecification::builder().enabled(true).attribute_name(EXPIRES_AT).build().map_err(build)?;
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
                batch =
                    out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
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
    /// with the reasons. `token` (`ClientRequestToken`) makes the caller's
    /// own retries of it idempotent: DynamoDB answers a repeat within ten
    /// minutes without running it again. A cancelled try ran nothing, so
    /// the retries here take new ones (the SDK's).
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        mut token: Option<&str>,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        let mut attempt = 0;
        loop {
            let request = self.client.transact_write_items().set_transact_items(Some(items.clone()));
            let result = request.set_client_request_token(token.take().map(str::to_owned)).send().await;
            let Err(e) = result else { return Ok(Ok(())) };
            let cancelled = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Cancelled(c.cancellation_reasons().to_vec())
                }
                _ => return Err(failed("TransactWriteItems", e)),
            };
            if !cancelled.worth_retrying() || attempt + 1 >= ATTEMPTS {
                return Ok(Err(cancelled));
            }
            tracing::debug!(reasons = ?cancelled.codes(), attempt, "transaction cancelled, retrying");
            backoff(attempt).await;
            attempt += 1;
        }
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

fn attributes() -> Result<Vec<AttributeDefinition>, StoreError> {
    [PK, SK, LOG_PK, LOG_SK, PROVIDER_ID, DUE_PK, DUE_SK]
        .iter()
        .map(|name| {
            AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)
        })
        .collect()
}

fn key_schema(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(build)
}

/// A tenant's log by time; whole items, so a page of the log is one query.
fn log_index() -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(BY_TENANT_TIME)
        .key_schema(key_schema(LOG_PK, KeyType::Hash)?)
        .key_schema(key_schema(LOG_SK, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(build)
}

/// A message by its provider id, whole: a receipt reads it once, then
/// updates the item itself.
fn provider_index() -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(BY_PROVIDER_ID)
        .key_schema(key_schema(PROVIDER_ID, KeyType::Hash)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(build)
}

/// Waits by due time, keys only: the scheduled sender learns which are
/// due, then reads each as it takes it.
fn due_index() -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(BY_DUE)
        .key_schema(key_schema(DUE_PK, KeyType::Hash)?)
        .key_schema(key_schema(DUE_SK, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
        .build()
        .map_err(build)
}
