//! The console's fixture: the embedded store of a large tenant, written
//! through the store's ports (`Admin::apply` for the configuration,
//! `Store::begin` for the log, many calls in flight so that the
//! connection thread commits them in groups): 4 tenants, 10,000 extensions
//! and 100,000 log entries of one tenant over the last 30 days, an
//! operator key of every tenant.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::adapters::sqlite::SqliteStore;
use shared::domain::{DeliveryReceipt, Extension, MessageKind, MessageRecord, MessageStatus, TenantId};
use shared::ports::Admin;
use shared::service::config::Config;
use tokio::task::JoinSet;

/// The large tenant, whose pages are measured.
pub const TENANT: &str = "59";
/// The small ones: a few log entries each, so that the log's index matters.
const OTHERS: [&str; 3] = ["60", "61", "62"];
pub const TENANTS: usize = 1 + OTHERS.len();
pub const EXTENSIONS: usize = 10_000;
/// The first extension: they are numbered from it, 10000 to 19999.
pub const FIRST_EXTENSION: usize = 10_000;
pub const MESSAGES: usize = 100_000;
const OTHER_MESSAGES: usize = 1_000;
pub const DAYS: i64 = 30;
/// Distinct destinations of the large tenant's log: each gets 20 entries.
const DESTINATIONS: usize = 5_000;
/// The operator key (`admin`, every tenant).
pub const OPERATOR: &str = "operator-bench-0123456789abcdef";
/// Log entries handed to the store at a time (it commits up to 256 a
/// transaction).
const IN_FLIGHT: usize = 2_048;

/// How long writing the fixture took, by part.
pub struct Seeded {
    pub config: Duration,
    pub log: Duration,
}

/// Writes the fixture into a fresh store at `db`, the log ending at `now`.
pub async fn write(db: &Path, now: i64) -> Seeded {
    let store = Arc::new(SqliteStore::open(db).expect("open the console's store"));
    let start = Instant::now();
    let config = Config::from_json(&config().to_string()).expect("a valid configuration");
    let plan = config.plan(&store.keys().await.expect("keys"), now);
    store.apply(&plan.snapshot, &plan.delete_keys).await.expect("apply");
    let config = start.elapsed();
    let start = Instant::now();
    let records = (0..MESSAGES)
        .map(|i| record(TENANT, i, MESSAGES, now))
        .chain(OTHERS.iter().flat_map(|t| (0..OTHER_MESSAGES).map(move |i| record(t, i, OTHER_MESSAGES, now))));
    log(&store, records).await;
    Seeded { config, log: start.elapsed() }
}

/// Every record begun as a final entry (no claim, no budget), at most
/// [`IN_FLIGHT`] at a time.
async fn log(store: &Arc<SqliteStore>, records: impl Iterator<Item = MessageRecord>) {
    let mut tasks = JoinSet::new();
    for record in records {
        if tasks.len() >= IN_FLIGHT {
            tasks.join_next().await.expect("a task").expect("a log write");
        }
        let store = store.clone();
        tasks.spawn(async move { integration_tests::log_entry(&*store, &record).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a log write");
    }
}

/// The configuration: the tenants, their numbers, the large tenant's
/// extensions (every second one with an SMS number of its own) and the key.
fn config() -> Value {
    let tenant = |id: &str| {
        json!({"id": id, "active": true, "sender_number": format!("+141655500{id}"), "api_enabled": true,
               "voicemail_notifications": true})
    };
    let mut numbers = vec![json!({"number": "+14165550001", "tenant": "*", "sms_enabled": true})];
    numbers.extend(
        std::iter::once(TENANT)
            .chain(OTHERS)
            .map(|id| json!({"number": format!("+141655500{id}"), "tenant": id, "sms_enabled": true})),
    );
    let extensions: Vec<Value> = (0..EXTENSIONS)
        .map(|i| {
            let mut x = json!({"tenant": TENANT, "extension": (FIRST_EXTENSION + i).to_string(),
                               "sms_notifications": i % 3 != 0});
            if i % 2 == 0 {
                x["sms_number"] = json!(destination(i));
            }
            x
        })
        .collect();
    json!({
        "numbers": numbers,
        "tenants": std::iter::once(TENANT).chain(OTHERS).map(tenant).collect::<Vec<_>>(),
        "extensions": extensions,
        "api_keys": [{"name": "bench-operator", "secret": OPERATOR, "tenants": ["*"], "permissions": ["admin"]}],
    })
}

/// One of the destinations: +1 416 555 plus four digits.
pub fn destination(i: usize) -> String {
    format!("+1416555{:04}", i % DESTINATIONS)
}

/// The `i`-th entry of `n` (newest first) of `tenant`'s log, spread evenly
/// over the [`DAYS`] days up to `now`. Mostly delivered; a fifth are
/// voicemails.
fn record(tenant: &str, i: usize, n: usize, now: i64) -> MessageRecord {
    let step = DAYS * 86_400 / i64::try_from(n).unwrap_or(1);
    let at = now - 1 - i64::try_from(i).unwrap_or(0) * step;
    let status = status(i);
    let voicemail = i.is_multiple_of(5);
    MessageRecord {
        id: message_id(tenant, i),
        tenant: TenantId::parse(tenant).expect("a tenant id"),
        kind: if voicemail { MessageKind::Voicemail } else { MessageKind::Api },
        extension: voicemail.then(|| Extension::parse(&(FIRST_EXTENSION + i % EXTENSIONS).to_string())).flatten(),
        from: format!("+141655500{tenant}"),
        to: destination(i),
        status,
        provider_id: matches!(status, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Failed)
            .then(|| format!("bench-{tenant}-{i}")),
        segments: 1 + i % 3,
        error: matches!(status, MessageStatus::Failed | MessageStatus::Refused | MessageStatus::Skipped)
            .then(|| "the carrier refused it".to_owned()),
        at,
        attempts: 1,
        receipt: (status == MessageStatus::Delivered).then(|| DeliveryReceipt {
            delivered: true,
            response: "Message has been accepted by phone carrier".to_owned(),
            price_usd: Some("0.00645".to_owned()),
            at,
        }),
        lease_until: None,
        key: None,
        due: None,
        digest: None,
    }
}

/// 70 % delivered, 10 % sent, 8 % failed, 5 % refused, 2 % opted out,
/// 5 % skipped; none `sending`.
fn status(i: usize) -> MessageStatus {
    match i % 100 {
        0..70 => MessageStatus::Delivered,
        70..80 => MessageStatus::Sent,
        80..88 => MessageStatus::Failed,
        88..93 => MessageStatus::Refused,
        93..95 => MessageStatus::OptedOut,
        _ => MessageStatus::Skipped,
    }
}

/// The `i`-th entry's id: ordered as its time is (newest first, the
/// highest id).
pub fn message_id(tenant: &str, i: usize) -> String {
    format!("bench-{tenant}-{:06}", 999_999 - i)
}
