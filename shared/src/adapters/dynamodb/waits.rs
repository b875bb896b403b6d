//! Voicemails waiting for their transcript: a `WAIT#<message id>` item
//! each, beside its claim, found by due time through the sparse `by-due`
//! index (sharded: [`DUE_SHARDS`] partitions, queried at once).

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::keys::{BY_DUE, DUE_PK, DUE_SHARDS, DUE_SK, EXPIRES_AT, Key, PK, due_partition, due_shard, due_sort};
use super::marshal::{Item, b, data, held, n, s, string};
use super::{DynamoStore, build, failed};
use crate::domain::MessageStatus;
use crate::ports::{Held, Resume, Resumed, StoreError, WaitChange, Waiting};

impl DynamoStore {
    pub(super) async fn read_waiting(&self, message_id: &str) -> Result<Option<Waiting>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Key::wait(message_id).item()))
            // Just written by the first phase, maybe.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed("GetItem", e))?;
        out.item().map(data).transpose()
    }

    /// One transaction: the claims taken (from `transcribing` or `held`,
    /// released, or past their lease), each wait due at the lease's end,
    /// the link. A refusal names the first member refused.
    pub(super) async fn take_waiting(&self, r: &Resume<'_>) -> Result<Resumed, StoreError> {
        let mut items = Vec::with_capacity(2 * r.waits.len() + 1);
        for w in r.waits {
            items.push(self.retake_claim(w, r)?);
            items.push(self.due_again(w, r.lease_until)?);
        }
        if let Some(link) = r.link {
            items.push(self.link_item(link)?);
        }
        let cancelled = match self.transact(items, None).await? {
            Ok(()) => return Ok(Resumed::Started),
            Err(c) => c,
        };
        for (i, w) in r.waits.iter().enumerate() {
            if let Some(reason) = cancelled.condition_failed(2 * i) {
                let item =
                    reason.item().ok_or_else(|| StoreError("DynamoDB: claim refused without its item".into()))?;
                return Ok(Resumed::Held(held(item)?));
            }
            if cancelled.condition_failed(2 * i + 1).is_some() {
                // Finished meanwhile, and its claim expired since.
                let fingerprint = w.voicemail.identity.clone();
                return Ok(Resumed::Held(Held::Done { fingerprint, result: String::new() }));
            }
        }
        Err(StoreError(format!("DynamoDB TransactWriteItems cancelled: {:?}", cancelled.codes())))
    }

    /// A wait due again at `due`, if it is still there.
    fn due_again(&self, w: &Waiting, due: i64) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::wait(&w.message_id).item()))
            .update_expression("SET #due = :due")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#due", DUE_SK)
            .expression_attribute_values(":due", s(due_sort(due)))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The claim's put, on the condition that it is takeable for a second
    /// phase; a failed condition returns the holder's item.
    fn retake_claim(&self, w: &Waiting, r: &Resume<'_>) -> Result<TransactWriteItem, StoreError> {
        let claim = Key::claim(&w.claim).with([
            ("fingerprint", s(&w.voicemail.identity)),
            ("token", s(r.token)),
            ("done", b(false)),
            ("lease_until", n(r.lease_until)),
            (EXPIRES_AT, n(r.lease_until)),
        ]);
        let take = Put::builder()
            .table_name(&self.table)
            .set_item(Some(claim))
            .condition_expression(
                "attribute_not_exists(#pk) OR #exp <= :now OR (#done = :no AND #lease <= :now) \
                 OR (#done = :yes AND #result IN (:waiting, :held))",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#result", "result")
            .expression_attribute_values(":now", n(r.now))
            .expression_attribute_values(":no", b(false))
            .expression_attribute_values(":yes", b(true))
            .expression_attribute_values(":waiting", s(MessageStatus::Transcribing.as_str()))
            .expression_attribute_values(":held", s(MessageStatus::Held.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().put(take).build())
    }

    /// What an end does to the wait, in its transaction: the wait written
    /// (with its due time for the index), or removed once the claim is
    /// finished.
    pub(super) fn wait_change(
        &self,
        change: &WaitChange<'_>,
        finished: bool,
        now: i64,
        keep_secs: i64,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        Ok(match change {
            WaitChange::Park(w) => {
                let item = Key::wait(&w.message_id).with_data(*w)?.into_iter().chain([
                    (DUE_PK.to_owned(), s(due_partition(&w.message_id))),
                    (DUE_SK.to_owned(), s(due_sort(w.due))),
                    (EXPIRES_AT.to_owned(), n(now + keep_secs)),
                ]);
                let put =
                    Put::builder().table_name(&self.table).set_item(Some(item.collect())).build().map_err(build)?;
                Some(TransactWriteItem::builder().put(put).build())
            }
            WaitChange::Drop(id) if finished => Some(self.drop_wait(id)?),
            WaitChange::Drop(_) => None,
        })
    }

    /// A wait removed, in a transaction.
    pub(super) fn drop_wait(&self, message_id: &str) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Key::wait(message_id).item()))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Every shard's due waits, queried at once, soonest first.
    pub(super) async fn due_waits(&self, now: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        let page = i32::try_from(limit).unwrap_or(i32::MAX);
        let queries = (0..DUE_SHARDS).map(|shard| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(BY_DUE)
                .key_condition_expression("#pk = :pk AND #due <= :now")
                .expression_attribute_names("#pk", DUE_PK)
                .expression_attribute_names("#due", DUE_SK)
                .expression_attribute_values(":pk", s(due_shard(shard)))
                .expression_attribute_values(":now", s(due_sort(now)))
                .limit(page)
                .send()
        });
        let mut due: Vec<(String, String)> = Vec::new();
        for out in futures_util::future::join_all(queries).await {
            for item in out.map_err(|e| failed("Query", e))?.items() {
                due.push((string(item, DUE_SK)?.to_owned(), message_id(item)?));
            }
        }
        due.sort();
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }
}

fn message_id(item: &Item) -> Result<String, StoreError> {
    let pk = string(item, PK)?;
    pk.strip_prefix("WAIT#")
        .map(str::to_owned)
        .ok_or_else(|| StoreError(format!("unexpected item {pk} in the due index")))
}
