//! The operator console's part of the `Admin` port: tenants and extensions
//! a page at a time, the daily counts, the audit log by query, sessions,
//! failed sign-ins.
//! Reads are consistent: an operator sees their own change on the next page.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::admin::tenant_order;
use super::keys::{
    BY_TENANT_TIME, COUNT, DATA, EXPIRES_AT, Key, LOG_PK, LOG_SK, PK, SEEN_AT, SK, STATUS, audit_partition,
    extension_sort, log_partition, log_sort,
};
use super::marshal::{Item, data, json, n, number, s, string};
use super::{DynamoStore, failed};
use crate::domain::{ExtensionRecord, KeyHash, MessageStatus, Tenant, TenantId};
use crate::ports::{AuditEntry, DayCount, ListQuery, Session, StoreError};

const DAY_SECS: i64 = 86_400;

/// What one `Query` asks for: a key condition on `#pk` (and `#sk`, when
/// `sort` is set), its values, and the direction.
struct Range<'a> {
    condition: &'a str,
    sort: bool,
    values: Vec<(&'a str, AttributeValue)>,
    forward: bool,
}

impl DynamoStore {
    /// One item, read consistently.
    pub(super) async fn get(&self, key: Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed("GetItem", e))?;
        Ok(out.item)
    }

    /// Up to `limit` items of one partition: `Query` pages until `limit`
    /// or the end, never more than the page needs.
    async fn query(&self, range: Range<'_>, limit: usize) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        while items.len() < limit {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression(range.condition)
                .expression_attribute_names("#pk", PK)
                .scan_index_forward(range.forward)
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX).min(1000))
                .set_exclusive_start_key(start);
            if range.sort {
                request = request.expression_attribute_names("#sk", SK);
            }
            for (name, value) in &range.values {
                request = request.expression_attribute_values(*name, value.clone());
            }
            let out = request.send().await.map_err(|e| failed("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        items.truncate(limit);
        Ok(items)
    }

    /// By `Scan` of the tenant items, sorted here: admin only, and tenants
    /// number in the thousands at most (the export reads them all too).
    pub(super) async fn tenant_page(&self, q: ListQuery<'_>) -> Result<Vec<Tenant>, StoreError> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        let items = self.scan("#key = :tenant", SK, &[(":tenant", "TENANT")]).await?;
        let mut tenants = items.iter().map(data::<Tenant>).collect::<Result<Vec<_>, _>>()?;
        let after = q.after.map(tenant_order);
        tenants
            .retain(|t| t.id.as_str().starts_with(q.prefix) && after.is_none_or(|a| tenant_order(t.id.as_str()) > a));
        tenants.sort_by(|a, b| tenant_order(a.id.as_str()).cmp(&tenant_order(b.id.as_str())));
        tenants.truncate(q.limit);
        Ok(tenants)
    }

    /// One `Query` of the sort keys the page can hold, so a page of a
    /// tenant with 10,000 extensions reads that page only. Extensions are
    /// digits: the first one past `after` is at least `after` + "0", and
    /// ':' (after '9') closes the prefix's range, as on SQLite.
    pub(super) async fn extension_page(
        &self,
        tenant: &TenantId,
        q: ListQuery<'_>,
    ) -> Result<Vec<ExtensionRecord>, StoreError> {
        let from = extension_sort(q.prefix);
        let low = q.after.map(|a| extension_sort(&format!("{a}0"))).filter(|a| *a > from).unwrap_or(from);
        let high = format!("{}:", extension_sort(q.prefix));
        // DynamoDB refuses a BETWEEN whose bounds are the wrong way round.
        if q.limit == 0 || low > high {
            return Ok(Vec::new());
        }
        let range = Range {
            condition: "#pk = :pk AND #sk BETWEEN :low AND :high",
            sort: true,
            values: vec![(":pk", s(Key::tenant(tenant).pk)), (":low", s(low)), (":high", s(high))],
            forward: true,
        };
        self.query(range, q.limit).await?.iter().map(data).collect()
    }

    /// Counted here from a `Query` of the tenant's log over the range's
    /// whole days on `by-tenant-time`, only each entry's sort key (its time)
    /// and stored status projected: one pass over the days (a page view of
    /// the chart reads the tenant's 30 days of index entries; SQLite keeps
    /// counts instead).
    pub(super) async fn count_days(
        &self,
        tenant: &TenantId,
        since: i64,
        until: i64,
    ) -> Result<Vec<DayCount>, StoreError> {
        let mut counts: BTreeMap<(i64, String), u32> = BTreeMap::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_TENANT_TIME)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .projection_expression("#sk, #status")
                .expression_attribute_names("#pk", LOG_PK)
                .expression_attribute_names("#sk", LOG_SK)
                .expression_attribute_names("#status", STATUS)
                .expression_attribute_values(":pk", s(log_partition(tenant)))
                .expression_attribute_values(":lo", s(log_sort(since - since.rem_euclid(DAY_SECS), "")))
                // Ids are letters, digits and '-', all below '~'.
                .expression_attribute_values(":hi", s(log_sort(until - until.rem_euclid(DAY_SECS) + DAY_SECS - 1, "~")))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| failed("Query", e))?;
            for item in out.items() {
                let at = at_of(string(item, LOG_SK)?)?;
                *counts.entry((at - at.rem_euclid(DAY_SECS), string(item, STATUS)?.to_owned())).or_default() += 1;
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        counts
            .into_iter()
            .map(|((day, status), count)| {
                let status =
                    status.parse::<MessageStatus>().map_err(|()| StoreError(format!("corrupt status {status}")))?;
                Ok(DayCount { day, status, count })
            })
            .collect()
    }

    /// Newest first: each entry is also in the partition of every entry
    /// (`Key::audit_entry`), so the whole log is one `Query` too.
    pub(super) async fn audit_log(
        &self,
        tenant: Option<&TenantId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let range = Range {
            condition: "#pk = :pk",
            sort: false,
            values: vec![(":pk", s(audit_partition(tenant)))],
            forward: false,
        };
        self.query(range, limit).await?.iter().map(data).collect()
    }

    /// A session's item expires (TTL) at its absolute expiry.
    pub(super) async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        let item = Key::session(session.hash.as_str()).with([
            (DATA, s(json(session)?)),
            (SEEN_AT, n(session.seen_at)),
            (EXPIRES_AT, n(session.expires_at)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| failed("PutItem", e))?;
        Ok(())
    }

    /// As stored, until TTL deletes it (often days after its expiry): the
    /// service refuses an expired session by its own clock.
    pub(super) async fn get_session(&self, hash: &KeyHash) -> Result<Option<Session>, StoreError> {
        let Some(item) = self.get(Key::session(hash.as_str())).await? else { return Ok(None) };
        let mut session: Session = data(&item)?;
        if item.contains_key(SEEN_AT) {
            session.seen_at = number(&item, SEEN_AT)?;
        }
        Ok(Some(session))
    }

    /// Only while the item exists: a closed session is not brought back.
    pub(super) async fn mark_seen(&self, hash: &KeyHash, seen_at: i64) -> Result<(), StoreError> {
        let touched = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Key::session(hash.as_str()).item()))
            .update_expression("SET #seen = :seen")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#seen", SEEN_AT)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":seen", n(seen_at))
            .send()
            .await;
        match touched {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                Ok(())
            }
            Err(e) => Err(failed("UpdateItem", e)),
        }
    }

    pub(super) async fn delete_session(&self, hash: &KeyHash) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::session(hash.as_str()).item()))
            .send()
            .await
            .map_err(|e| failed("DeleteItem", e))?;
        Ok(())
    }

    /// What `count_sign_in` counted in `now`'s window (none: no item).
    pub(super) async fn sign_in_count(&self, source: &str, now: i64, window_secs: i64) -> Result<u32, StoreError> {
        let item = self.get(Key::sign_in(source, now.div_euclid(window_secs))).await?;
        let count = item.map(|i| number(&i, COUNT)).transpose()?.unwrap_or(0);
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// One counter item per source and window, named by its bucket (so a
    /// new window starts at zero however late TTL removes the old one).
    pub(super) async fn count_sign_in(&self, source: &str, now: i64, window_secs: i64) -> Result<u32, StoreError> {
        let bucket = now.div_euclid(window_secs);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Key::sign_in(source, bucket).item()))
            .update_expression("ADD #count :one SET #exp = :exp")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n((bucket + 1) * window_secs))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| failed("UpdateItem", e))?;
        let count = number(&out.attributes.unwrap_or_default(), COUNT)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }
}

/// A log entry's time, from its sort key (`log_sort`).
fn at_of(log_sk: &str) -> Result<i64, StoreError> {
    log_sk
        .split_once('#')
        .and_then(|(at, _)| at.parse().ok())
        .ok_or_else(|| StoreError(format!("corrupt item: log_sk {log_sk}")))
}
