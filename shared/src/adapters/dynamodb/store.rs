//! The hot path: `lookup` is one `BatchGetItem`; `begin` and `finish` are
//! one `TransactWriteItems` each (claim, budget and log entry together), or
//! one `UpdateItem` when only the log entry is written; a `begin` on a rate
//! slot this instance holds writes nothing, and its `finish` writes the
//! log entry (with the next block, when due); `receive` is one `Query` on
//! the provider-id index and one conditional `UpdateItem`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::counters::{self, Take};
use super::keys::{
    ATTEMPTS, BY_PROVIDER_ID, BY_TENANT_TIME, DATA, EXPIRES_AT, Key, LOG_PK, LOG_SK, PK, PROVIDER_ID, RECIPIENT,
    SEND_KEYS, SENDER, SENDER_ENTRY, SK, STATUS, WRITTEN, log_partition, log_sort,
};
use super::marshal::{Item, b, data, held, json, log_keys, message, n, s, string};
use super::{DynamoStore, build, failed, slots};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValue;

use crate::domain::{
    Cursor, ExtensionRecord, KeyHash, MessageKind, MessageRecord, MessageStatus, RateLimits, Receipt, RecordingLink,
    Tenant, TenantId,
};
use crate::ports::{
    Begun, Claim, Closing, End, Finished, Found, Lookup, MessagePage, MessageQuery, Received, Resume, Resumed, Start,
    Store, StoreError, Waiting,
};

#[async_trait]
impl Store for DynamoStore {
    async fn lookup(&self, l: Lookup<'_>) -> Result<Found, StoreError> {
        // A request that names no tenant: the one its key names, if the key
        // directory says, read with the key.
        let hinted = match (l.key, l.tenant) {
            (Some(hash), None) => self.hints.read().unwrap_or_else(|p| p.into_inner()).get(hash.as_str()).cloned(),
            _ => None,
        };
        let tenant = l.tenant.or(hinted.as_ref());
        if let (Some(now), Some(hash), Some(tenant), None, None) = (l.send_at, l.key, tenant, l.extension, l.number)
            && self.slots.spent(tenant, MessageKind::Api, now)
        {
            return self.read_taking_slot(hash, tenant, now).await;
        }
        let mut keys = Vec::with_capacity(4);
        if let Some(h) = l.key {
            keys.push(Key::api_key(h.as_str()));
        }
        if let Some(t) = tenant {
            keys.push(Key::tenant(t));
            // An extension of the tenant named, never of one the key implies.
            if let Some(x) = l.extension.filter(|_| l.tenant.is_some()) {
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
        let mut tenant_item = None;
        for item in self.batch_get(keys, false).await? {
            match string(&item, SK)? {
                "KEY" => found.key = Some(data(&item)?),
                "TENANT" => tenant_item = Some(item),
                "NUMBER" => found.number = Some(data(&item)?),
                sk if sk.starts_with("EXT#") => found.extension = Some(data(&item)?),
                other => return Err(StoreError(format!("unexpected item {other} in lookup"))),
            }
        }
        if let Some(item) = tenant_item {
            self.tenant_of(&item, &mut found).await?;
        }
        Ok(found)
    }

    async fn begin(&self, start: &Start<'_>) -> Result<Begun, StoreError> {
        let record = start.record;
        let plain = start.claim.is_none() && start.link.is_none() && record.status == MessageStatus::Sending;
        if let (true, Some((kind, limits))) = (plain, start.budget)
            && self.slots.take(&record.tenant, kind, start.now)
        {
            self.unlogged.lock().unwrap_or_else(|p| p.into_inner()).insert(record.id.clone(), (kind, limits));
            return Ok(Begun::Started);
        }
        let Some((kind, limits)) = start.budget else {
            return self.start(start, 1).await;
        };
        let block = slots::block(limits);
        let begun = self.start(start, block).await?;
        if block > 1 && matches!(begun, Begun::Limited(_)) {
            // No room for a block: one slot may still fit.
            return self.start(start, 1).await;
        }
        if begun == Begun::Started {
            self.slots.keep(&record.tenant, kind, start.now, block - 1);
        }
        Ok(begun)
    }

    async fn finish(&self, end: &End<'_>) -> Result<Finished, StoreError> {
        let unlogged = self.unlogged.lock().unwrap_or_else(|p| p.into_inner()).get(&end.record.id).copied();
        // A send on a held slot counts its attempt here, where its entry is first written.
        let attempts = end.attempts + i64::from(unlogged.is_some());
        let log = self.log_update(end.record, end.log_keep_secs, attempts, Some(end.token))?;
        let finished = match (unlogged, &end.claim) {
            _ if !end.members.is_empty() => self.close_digest(end, log).await?,
            (Some((kind, limits)), _) => self.log_and_reserve(end, log, kind, limits).await?,
            (None, None) => self.write_log(log).await?,
            (None, Some(closing)) => self.close(closing, end, log).await?,
        };
        // Only once written: a try that failed leaves it for the next.
        self.unlogged.lock().unwrap_or_else(|p| p.into_inner()).remove(&end.record.id);
        Ok(finished)
    }

    async fn receive(&self, receipt: &Receipt) -> Result<Received, StoreError> {
        // The index holds whole items: finding the message is the one read.
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_PROVIDER_ID)
            .key_condition_expression("#pid = :pid")
            .expression_attribute_names("#pid", PROVIDER_ID)
            .expression_attribute_values(":pid", s(&receipt.provider_id))
            .limit(1)
            .send()
            .await
            .map_err(|e| failed("Query", e))?;
        let Some(item) = out.items().first() else {
            return Ok(Received::Unknown);
        };
        let record = message(item)?;
        let Some(next) = record.with_receipt(receipt) else {
            return Ok(Received::Repeated);
        };
        // Only over what was read: a receipt that raced in first wins.
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Key::message(&record.id).item()))
            .update_expression("SET #data = :next, #status = :status")
            .condition_expression("#data = :read")
            .expression_attribute_names("#data", DATA)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_values(":next", s(json(&next)?))
            .expression_attribute_values(":status", s(next.status.as_str()))
            .expression_attribute_values(":read", s(string(item, DATA)?))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(Received::Applied(next)),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                Ok(Received::Repeated)
            }
            Err(e) => Err(failed("UpdateItem", e)),
        }
    }

    async fn page(&self, q: &MessageQuery<'_>) -> Result<MessagePage, StoreError> {
        let mut filters = Vec::new();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_TENANT_TIME)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", LOG_PK)
            .expression_attribute_names("#sk", LOG_SK)
            .expression_attribute_values(":pk", s(log_partition(q.tenant)))
            .expression_attribute_values(":lo", s(log_sort(q.since, "")))
            // Ids are letters, digits and '-', all below '~'.
            .expression_attribute_values(":hi", s(log_sort(q.until, "~")))
            .scan_index_forward(false)
            .limit(i32::try_from(q.limit).unwrap_or(i32::MAX));
        for (name, attribute, value) in
            [("status", STATUS, q.status.map(MessageStatus::as_str)), ("from", SENDER, q.from), ("to", RECIPIENT, q.to)]
        {
            if let Some(v) = value {
                filters.push(format!("#{name} = :{name}"));
                request = request
                    .expression_attribute_names(format!("#{name}"), attribute)
                    .expression_attribute_values(format!(":{name}"), s(v));
            }
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        if let Some(c) = q.after {
            let start =
                Key::message(&c.id).with([(LOG_PK, s(log_partition(q.tenant))), (LOG_SK, s(log_sort(c.at, &c.id)))]);
            request = request.set_exclusive_start_key(Some(start));
        }
        let out = request.send().await.map_err(|e| failed("Query", e))?;
        let messages = out.items().iter().map(message).collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key() {
            Some(last) => Some(cursor_of(string(last, LOG_SK)?)?),
            None => None,
        };
        Ok(MessagePage { messages, next })
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Key::message(id).item()))
            .send()
            .await
            .map_err(|e| failed("GetItem", e))?;
        out.item().map(message).transpose()
    }

    async fn link(&self, hash: &KeyHash) -> Result<Option<RecordingLink>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Key::link(hash.as_str()).item()))
            .send()
            .await
            .map_err(|e| failed("GetItem", e))?;
        out.item().map(data).transpose()
    }

    async fn waiting(&self, message_id: &str) -> Result<Option<Waiting>, StoreError> {
        self.read_waiting(message_id).await
    }

    async fn resume(&self, resume: &Resume<'_>) -> Result<Resumed, StoreError> {
        self.take_waiting(resume).await
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        self.due_waits(now, limit).await
    }

    async fn update_extension(&self, next: &ExtensionRecord, read: &ExtensionRecord) -> Result<bool, StoreError> {
        let key = Key::extension(&next.tenant, &next.extension);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key.with_data(next)?))
            .condition_expression("#data = :read")
            .expression_attribute_names("#data", DATA)
            .expression_attribute_values(":read", s(json(read)?))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.as_service_error(), Some(PutItemError::ConditionalCheckFailedException(_))) => {
                Ok(false)
            }
            Err(e) => Err(failed("PutItem", e)),
        }
    }
}

/// Where a page ended, from the index's sort key (`<at>#<id>`).
fn cursor_of(log_sk: &str) -> Result<Cursor, StoreError> {
    let (at, id) = log_sk.split_once('#').ok_or_else(|| StoreError(format!("corrupt log key {log_sk}")))?;
    let at = at.parse().map_err(|_| StoreError(format!("corrupt log key {log_sk}")))?;
    Ok(Cursor { at, id: id.to_owned() })
}

impl DynamoStore {
    /// One transaction: the claim, `block` slots of the budget, the log
    /// entry, the link.
    async fn start(&self, start: &Start<'_>, block: u32) -> Result<Begun, StoreError> {
        let record = start.record;
        let mut items = Vec::with_capacity(4);
        if let Some(claim) = &start.claim {
            items.push(self.take_claim(claim, record.status, start.now)?);
        }
        if let Some((budget, limits)) = start.budget {
            items.push(self.count(&record.tenant, budget, start.now, Take::Slots(block, limits))?);
        }
        let attempt = i64::from(record.status == MessageStatus::Sending);
        items.push(
            TransactWriteItem::builder().update(self.log_update(record, start.log_keep_secs, attempt, None)?).build(),
        );
        if let Some(link) = start.link {
            items.push(self.link_item(link)?);
        }
        let cancelled = match self.transact(items, None).await? {
            Ok(()) => return Ok(Begun::Started),
            Err(c) => c,
        };
        // The claim is the first item when there is one, the two windows follow.
        if start.claim.is_some()
            && let Some(reason) = cancelled.condition_failed(0)
        {
            let item = reason
                .item()
                .ok_or_else(|| StoreError("DynamoDB: claim refused without the holder's item".to_owned()))?;
            return Ok(Begun::Held(held(item)?));
        }
        if let Some((budget, limits)) = start.budget
            && let Some(reason) = cancelled.condition_failed(usize::from(start.claim.is_some()))
        {
            let item =
                reason.item().ok_or_else(|| StoreError(format!("DynamoDB: tenant {} has no item", record.tenant)))?;
            self.seen.learn(&record.tenant, item);
            return Ok(Begun::Limited(counters::full_window(item, budget, start.now, block, limits)));
        }
        Err(StoreError(format!("DynamoDB TransactWriteItems cancelled: {:?}", cancelled.codes())))
    }

    /// A recording link's item, kept until it expires.
    pub(super) fn link_item(&self, link: &RecordingLink) -> Result<TransactWriteItem, StoreError> {
        let item = Key::link(link.hash.as_str())
            .with_data(link)?
            .into_iter()
            .chain([(EXPIRES_AT.to_owned(), n(link.expires_at))])
            .collect();
        let put = Put::builder().table_name(&self.table).set_item(Some(item)).build().map_err(build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Takes the claim if it is takeable: absent, expired (TTL deletes
    /// lazily), or pending with its lease run out. A failed condition
    /// returns the holder's item, so the verdict is as atomic as the write.
    /// A final status finishes the claim at once.
    fn take_claim(&self, claim: &Claim<'_>, status: MessageStatus, now: i64) -> Result<TransactWriteItem, StoreError> {
        let done = status != MessageStatus::Sending;
        let mut attrs = vec![
            ("fingerprint", s(claim.fingerprint)),
            ("token", s(claim.token)),
            ("done", b(done)),
            ("lease_until", n(claim.lease_until)),
            (EXPIRES_AT, n(if done { now + claim.keep_secs } else { claim.lease_until })),
        ];
        if done {
            attrs.push(("result", s(status.as_str())));
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Key::claim(claim.id).with(attrs)))
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now OR (#done = :no AND #lease <= :now)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":no", b(false))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Finishes (`result`) or releases the claim, only while it is this
    /// holder's and pending.
    fn close_claim(&self, closing: &Closing<'_>, now: i64) -> Result<TransactWriteItem, StoreError> {
        const HOLDER: &str = "#token = :token AND #done = :no";
        let key = Some(Key::claim(closing.id).item());
        Ok(match closing.result {
            Some(result) => TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(key)
                        .update_expression("SET #done = :yes, #result = :result, #exp = :exp")
                        .condition_expression(HOLDER)
                        .expression_attribute_names("#token", "token")
                        .expression_attribute_names("#done", "done")
                        .expression_attribute_names("#result", "result")
                        .expression_attribute_names("#exp", EXPIRES_AT)
                        .expression_attribute_values(":token", s(closing.token))
                        .expression_attribute_values(":no", b(false))
                        .expression_attribute_values(":yes", b(true))
                        .expression_attribute_values(":result", s(result))
                        .expression_attribute_values(":exp", n(now + closing.keep_secs))
                        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                        .build()
                        .map_err(build)?,
                )
                .build(),
            None => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(key)
                        .condition_expression(HOLDER)
                        .expression_attribute_names("#token", "token")
                        .expression_attribute_names("#done", "done")
                        .expression_attribute_values(":token", s(closing.token))
                        .expression_attribute_values(":no", b(false))
                        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                        .build()
                        .map_err(build)?,
                )
                .build(),
        })
    }

    /// The counter write of `budget` on the tenant's item, with the past
    /// buckets this instance saw there.
    fn count(
        &self,
        tenant: &TenantId,
        budget: MessageKind,
        now: i64,
        take: Take<'_>,
    ) -> Result<TransactWriteItem, StoreError> {
        let past = self.seen.take_past(tenant, now);
        Ok(TransactWriteItem::builder()
            .update(counters::update(&self.table, tenant, budget, now, take, &past)?)
            .build())
    }

    /// The cold send's first request: one `UpdateItem` of the tenant's
    /// item takes a slot of the API's budget, if the key may send for the
    /// tenant and the slot fits the item's limits, and returns the item.
    /// Otherwise the item comes back as it was, nothing taken: the key is
    /// read on its own unless the item holds it, and `begin` counts as
    /// usual (and answers a full window).
    async fn read_taking_slot(&self, hash: &KeyHash, tenant: &TenantId, now: i64) -> Result<Found, StoreError> {
        let update = counters::update(
            &self.table,
            tenant,
            MessageKind::Api,
            now,
            Take::OneFor(hash),
            &self.seen.take_past(tenant, now),
        )?;
        let out = update.into_update_item(&self.client).return_values(ReturnValue::AllNew).send().await;
        let (item, taken) = match out {
            Ok(out) => (out.attributes, true),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => (c.item.clone(), false),
                _ => return Err(failed("UpdateItem", e)),
            },
        };
        let mut found = Found::default();
        if let Some(item) = item {
            if let Some(key) = item.get(SEND_KEYS).and_then(|m| m.as_m().ok()).and_then(|m| m.get(hash.as_str())) {
                let json = key.as_s().map_err(|_| StoreError("corrupt sending key".to_owned()))?;
                found.key =
                    Some(serde_json::from_str(json).map_err(|e| StoreError(format!("corrupt sending key: {e}")))?);
            }
            self.tenant_of(&item, &mut found).await?;
        }
        if taken {
            self.slots.keep(tenant, MessageKind::Api, now, 1);
        }
        if found.key.is_none() {
            found.key =
                self.batch_get(vec![Key::api_key(hash.as_str())], false).await?.first().map(data).transpose()?;
        }
        Ok(found)
    }

    /// A tenant's item read: the tenant, its sender's entry (read on its
    /// own from an item written before tenants carried it), its counters.
    async fn tenant_of(&self, item: &Item, found: &mut Found) -> Result<(), StoreError> {
        let tenant: Tenant = data(item)?;
        self.seen.learn(&tenant.id, item);
        match item.get(SENDER_ENTRY) {
            Some(entry) => {
                let entry = entry.as_s().map_err(|_| StoreError("corrupt sender entry".into()))?;
                found.sender =
                    serde_json::from_str(entry).map_err(|e| StoreError(format!("corrupt sender entry: {e}")))?;
            }
            None => {
                if let Some(sender) = &tenant.sender_number {
                    found.sender =
                        self.batch_get(vec![Key::number(sender)], false).await?.first().map(data).transpose()?;
                }
            }
        }
        found.tenant = Some(tenant);
        Ok(())
    }

    /// The log entry of a send on a held slot; when the slots are used up,
    /// the next block is reserved in the same write (and, when it does not
    /// fit, the entry is written alone: the next start reserves).
    async fn log_and_reserve(
        &self,
        end: &End<'_>,
        log: Update,
        kind: MessageKind,
        limits: RateLimits,
    ) -> Result<Finished, StoreError> {
        let tenant = &end.record.tenant;
        if self.slots.spent(tenant, kind, end.now) {
            let block = slots::block(limits);
            let items = vec![
                TransactWriteItem::builder().update(log.clone()).build(),
                self.count(tenant, kind, end.now, Take::Slots(block, limits))?,
            ];
            match self.transact(items, Some(end.token)).await? {
                Ok(()) => {
                    self.slots.keep(tenant, kind, end.now, block);
                    return Ok(Finished::Done);
                }
                // An earlier try wrote the entry (and reserved).
                Err(c) if c.condition_failed(0).is_some() => return Ok(Finished::AlreadyDone),
                Err(c) if c.condition_failed(1).is_some() => {}
                Err(c) => return Err(StoreError(format!("DynamoDB TransactWriteItems cancelled: {:?}", c.codes()))),
            }
        }
        self.write_log(log).await
    }

    /// The claim closed and the entry written, in one transaction; an earlier
    /// try of the same end found by what it wrote (DynamoDB itself skips a
    /// try it already ran, by its `ClientRequestToken`).
    async fn close(&self, closing: &Closing<'_>, end: &End<'_>, log: Update) -> Result<Finished, StoreError> {
        let mut items = vec![self.close_claim(closing, end.now)?, TransactWriteItem::builder().update(log).build()];
        if let Some(change) = &end.wait {
            items.extend(self.wait_change(change, closing.result.is_some(), end.now, closing.keep_secs)?);
        }
        let cancelled = match self.transact(items, Some(end.token)).await? {
            Ok(()) => return Ok(Finished::Done),
            Err(c) => c,
        };
        if cancelled.condition_failed(1).is_some() {
            return Ok(Finished::AlreadyDone);
        }
        match cancelled.condition_failed(0) {
            Some(claim) => Ok(judged(claim, closing)),
            None => Err(StoreError(format!("DynamoDB TransactWriteItems cancelled: {:?}", cancelled.codes()))),
        }
    }

    /// A digest's end, in one transaction: its entry, and each member's
    /// claim closed, entry written and (once finished) wait removed.
    async fn close_digest(&self, end: &End<'_>, log: Update) -> Result<Finished, StoreError> {
        let mut items = vec![TransactWriteItem::builder().update(log).build()];
        for m in end.members {
            items.push(self.close_claim(&m.claim, end.now)?);
            let entry = self.log_update(m.record, end.log_keep_secs, end.attempts, None)?;
            items.push(TransactWriteItem::builder().update(entry).build());
            if m.claim.result.is_some() {
                items.push(self.drop_wait(&m.record.id)?);
            }
        }
        let cancelled = match self.transact(items, Some(end.token)).await? {
            Ok(()) => return Ok(Finished::Done),
            Err(c) => c,
        };
        if cancelled.condition_failed(0).is_some() {
            return Ok(Finished::AlreadyDone);
        }
        let stride = if end.members.first().is_some_and(|m| m.claim.result.is_some()) { 3 } else { 2 };
        let refused = end
            .members
            .iter()
            .enumerate()
            .find_map(|(i, m)| cancelled.condition_failed(1 + stride * i).map(|claim| judged(claim, &m.claim)));
        refused.ok_or_else(|| StoreError(format!("DynamoDB TransactWriteItems cancelled: {:?}", cancelled.codes())))
    }

    /// The entry alone (no claim): a try that finds its own write done is.
    async fn write_log(&self, log: Update) -> Result<Finished, StoreError> {
        match log.into_update_item(&self.client).send().await {
            Ok(_) => Ok(Finished::Done),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                Ok(Finished::AlreadyDone)
            }
            Err(e) => Err(failed("UpdateItem", e)),
        }
    }

    /// The log entry, written whole, its attempts counted by the store. An
    /// end's write marks the entry with its token (`written`), and is
    /// written only where it is not there yet: tried again after its answer
    /// was lost, it does not count its attempt twice.
    fn log_update(
        &self,
        record: &MessageRecord,
        keep_secs: i64,
        attempt: i64,
        written: Option<&str>,
    ) -> Result<Update, StoreError> {
        let (log_pk, log_sk) = log_keys(record);
        let mut expression = concat!(
            "SET #data = :data, #log_pk = :log_pk, #log_sk = :log_sk, #exp = :exp, ",
            "#status = :status, #sender = :sender, #recipient = :recipient"
        )
        .to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::message(&record.id).item()))
            .expression_attribute_names("#data", DATA)
            .expression_attribute_names("#log_pk", LOG_PK)
            .expression_attribute_names("#log_sk", LOG_SK)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_names("#pid", PROVIDER_ID)
            .expression_attribute_names("#attempts", ATTEMPTS)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#sender", SENDER)
            .expression_attribute_names("#recipient", RECIPIENT)
            .expression_attribute_values(":status", s(record.status.as_str()))
            .expression_attribute_values(":sender", s(&record.from))
            .expression_attribute_values(":recipient", s(&record.to))
            .expression_attribute_values(":data", s(json(record)?))
            .expression_attribute_values(":log_pk", log_pk)
            .expression_attribute_values(":log_sk", log_sk)
            .expression_attribute_values(":exp", n(record.at + keep_secs))
            .expression_attribute_values(":attempt", n(attempt));
        match &record.provider_id {
            Some(id) => {
                expression.push_str(", #pid = :pid ADD #attempts :attempt");
                update = update.expression_attribute_values(":pid", s(id));
            }
            None => expression.push_str(" ADD #attempts :attempt REMOVE #pid"),
        }
        if let Some(token) = written {
            expression = expression.replacen("SET ", "SET #written = :written, ", 1);
            update = update
                .expression_attribute_names("#written", WRITTEN)
                .expression_attribute_values(":written", s(token))
                .condition_expression("attribute_not_exists(#written) OR #written <> :written")
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        update.update_expression(expression).build().map_err(build)
    }
}

/// A transaction's `Update` sent on its own.
trait IntoUpdateItem {
    fn into_update_item(
        self,
        client: &aws_sdk_dynamodb::Client,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
}

impl IntoUpdateItem for Update {
    fn into_update_item(
        self,
        client: &aws_sdk_dynamodb::Client,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        client
            .update_item()
            .table_name(self.table_name)
            .set_key(Some(self.key))
            .update_expression(self.update_expression)
            .set_condition_expression(self.condition_expression)
            .set_expression_attribute_names(self.expression_attribute_names)
            .set_expression_attribute_values(self.expression_attribute_values)
            .set_return_values_on_condition_check_failure(self.return_values_on_condition_check_failure)
    }
}

/// What a closing's refused claim says of an end's try: done by this
/// holder, or (a release) gone, is an earlier try's write; anything else
/// is another delivery's.
fn judged(refusal: &CancellationReason, closing: &Closing<'_>) -> Finished {
    let holder = refusal.item();
    let done = |c: &Item| c.get("done").and_then(|d| d.as_bool().ok()) == Some(&true);
    let ours = holder.is_some_and(|c| string(c, "token").is_ok_and(|t| t == closing.token) && done(c));
    let released = holder.is_none_or(Item::is_empty) && closing.result.is_none();
    if ours || released { Finished::AlreadyDone } else { Finished::TakenOver }
}
