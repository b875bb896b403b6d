//! Rate counters on the tenant's item (names in [`super::keys`]): a write
//! that counts sends is one `Update` of that item, both windows at once.
//! Kept there so that one `UpdateItem` can check a cold send's key, take
//! its slot and return the tenant: the read and the count in one request.
//! `apply` updates tenant items in place, so it never resets them.
//!
//! Past buckets go with the next counter write of an instance that saw
//! them (every read of the item shows them), once they are two windows
//! old: an instance whose clock lags a little never recreates a counter
//! another already removed.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, Update};

use super::build;
use super::keys::{API_PER_DAY, API_PER_MINUTE, Key, PK, RATE_PREFIX, SEND_KEYS, rate_bucket, rate_counter};
use super::marshal::{Item, n, number};
use crate::domain::ttl_map::{FOREVER, TtlMap};
use crate::domain::{KeyHash, MessageKind, RateLimits, TenantId, Window};
use crate::ports::StoreError;

/// Past buckets removed by one write, at most: an expression stays small.
const MAX_REMOVED: usize = 16;
/// Tenants whose counters an instance remembers.
const MAX_TENANTS: usize = 10_000;

/// What a counter write takes.
#[derive(Debug, Clone, Copy)]
pub enum Take<'a> {
    /// `n` slots within limits known from a read.
    Slots(u32, RateLimits),
    /// One slot of the API's budget within the limits the item holds, if
    /// this key is one of the item's sending keys: a cold send's first
    /// request.
    OneFor(&'a KeyHash),
}

/// The counter names an instance saw on each tenant's item (for as long as
/// it has room: a tenant it forgets has its past buckets removed by another
/// instance, or by its own next read of the item).
pub struct Seen(TtlMap<TenantId, BTreeSet<String>>);

impl Default for Seen {
    fn default() -> Self {
        Seen(TtlMap::new(MAX_TENANTS))
    }
}

impl Seen {
    pub fn learn(&self, tenant: &TenantId, item: &Item) {
        let names: BTreeSet<String> = item.keys().filter(|k| k.starts_with(RATE_PREFIX)).cloned().collect();
        self.0.insert(tenant.clone(), names, FOREVER);
    }

    /// Takes the names of counters two windows old or older, to remove.
    pub fn take_past(&self, tenant: &TenantId, now: i64) -> Vec<String> {
        let past_of = |names: &mut BTreeSet<String>| {
            let past: Vec<String> = names
                .iter()
                .filter(|name| rate_bucket(name).is_some_and(|(w, bucket)| bucket < now / w.seconds() - 1))
                .take(MAX_REMOVED)
                .cloned()
                .collect();
            names.retain(|name| !past.contains(name));
            past
        };
        self.0.update(tenant, now, past_of).unwrap_or_default()
    }
}

/// The write that counts: both windows of `budget` at `now`, the past
/// buckets removed. It fails on a full window, a missing tenant item, and
/// for [`Take::OneFor`] a key that may not send; the item as it was comes
/// with the failure.
pub fn update(
    table: &str,
    tenant: &TenantId,
    budget: MessageKind,
    now: i64,
    take: Take<'_>,
    past: &[String],
) -> Result<Update, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::tenant(tenant).item()))
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":zero", n(0))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let mut condition = vec!["attribute_exists(#pk)".to_owned()];
    let mut sets = Vec::new();
    for (w, window) in ["m", "d"].into_iter().zip([Window::Minute, Window::Day]) {
        update =
            update.expression_attribute_names(format!("#{w}"), rate_counter(budget, window, now / window.seconds()));
        sets.push(format!("#{w} = if_not_exists(#{w}, :zero) + :n"));
        let fits;
        (update, fits) = room_in(update, w, window, take);
        condition.push(fits);
    }
    let slots = match take {
        Take::Slots(slots, _) => slots,
        Take::OneFor(hash) => {
            update =
                update.expression_attribute_names("#keys", SEND_KEYS).expression_attribute_names("#key", hash.as_str());
            condition.push("attribute_exists(#keys.#key)".to_owned());
            1
        }
    };
    let mut expression = format!("SET {}", sets.join(", "));
    for (i, name) in past.iter().enumerate() {
        expression.push_str(if i == 0 { " REMOVE " } else { ", " });
        expression.push_str(&format!("#past{i}"));
        update = update.expression_attribute_names(format!("#past{i}"), name);
    }
    update
        .update_expression(expression)
        .condition_expression(condition.join(" AND "))
        .expression_attribute_values(":n", n(i64::from(slots)))
        .build()
        .map_err(build)
}

/// The condition that the counter `#{w}` of `window` has room for what
/// `take` takes, with the values it names.
fn room_in(update: UpdateBuilder, w: &str, window: Window, take: Take<'_>) -> (UpdateBuilder, String) {
    match take {
        Take::Slots(slots, limits) => {
            let room = i64::from(limits.of(window)) - i64::from(slots);
            let update = update.expression_attribute_values(format!(":room_{w}"), n(room));
            // A missing counter is zero: it fits unless the slots alone exceed the limit.
            let fits = match room < 0 {
                true => format!("#{w} <= :room_{w}"),
                false => format!("(attribute_not_exists(#{w}) OR #{w} <= :room_{w})"),
            };
            (update, fits)
        }
        Take::OneFor(_) => {
            let limit = if window == Window::Minute { API_PER_MINUTE } else { API_PER_DAY };
            let update = update.expression_attribute_names(format!("#limit_{w}"), limit);
            (update, format!("((attribute_not_exists(#{w}) AND #limit_{w} > :zero) OR #{w} < #limit_{w})"))
        }
    }
}

/// Which window refused `slots` more, from the item as it was: the minute
/// when both are full, as the SQLite store answers.
pub fn full_window(item: &Item, budget: MessageKind, now: i64, slots: u32, limits: RateLimits) -> Window {
    let count = |window: Window| number(item, &rate_counter(budget, window, now / window.seconds())).unwrap_or(0);
    match count(Window::Minute) + i64::from(slots) > i64::from(limits.per_minute) {
        true => Window::Minute,
        false => Window::Day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::dynamodb::marshal::s;

    #[test]
    fn only_counters_two_windows_old_are_removed() {
        let (seen, t) = (Seen::default(), TenantId::parse("59").unwrap());
        let now = 100 * 86_400 + 120 * 60;
        let item: Item = [
            rate_counter(MessageKind::Api, Window::Minute, now / 60),
            rate_counter(MessageKind::Api, Window::Minute, now / 60 - 1),
            rate_counter(MessageKind::Api, Window::Minute, now / 60 - 2),
            rate_counter(MessageKind::Voicemail, Window::Day, 100),
            rate_counter(MessageKind::Voicemail, Window::Day, 99),
            rate_counter(MessageKind::Voicemail, Window::Day, 98),
            "data".to_owned(),
        ]
        .into_iter()
        .map(|k| (k, s("")))
        .collect();
        seen.learn(&t, &item);
        let mut past = seen.take_past(&t, now);
        past.sort();
        let expected = [
            rate_counter(MessageKind::Api, Window::Minute, now / 60 - 2),
            rate_counter(MessageKind::Voicemail, Window::Day, 98),
        ];
        assert_eq!(past, expected);
        assert!(seen.take_past(&t, now).is_empty(), "taken once");
    }

    #[test]
    fn the_window_that_refused_is_the_minute_when_both_are_full() {
        let now = 86_400 * 3 + 30;
        let limits = RateLimits { per_minute: 5, per_day: 10 };
        let item = |m: i64, d: i64| -> Item {
            [
                (rate_counter(MessageKind::Api, Window::Minute, now / 60), n(m)),
                (rate_counter(MessageKind::Api, Window::Day, 3), n(d)),
            ]
            .into()
        };
        assert_eq!(full_window(&item(5, 10), MessageKind::Api, now, 1, limits), Window::Minute);
        assert_eq!(full_window(&item(2, 10), MessageKind::Api, now, 1, limits), Window::Day);
        assert_eq!(full_window(&item(3, 9), MessageKind::Api, now, 3, limits), Window::Minute);
    }
}
