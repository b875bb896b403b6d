//! A sent SMS is always recorded: the write that closes its claim and
//! writes its log entry is tried again when the store stumbles (failures
//! before it took effect, and answers lost after it did), on both stores;
//! an entry whose run died reads `unknown` once its lease ends, never
//! `sending` for good.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use integration_tests::platform::{FUNCTION_TIMEOUT_SECS, Step, Stumble, backends_at, dying_service};
use integration_tests::{Backend, answer, capture_logs, request, s3_record, trigger_by};
use serde_json::{Value, json};
use shared::domain::{MessageRecord, MessageStatus, TenantId};
use shared::ports::Finished;
use shared::service::{LEASE_MARGIN_SECS, Service};

const T0: i64 = 1_795_000_000 - 1_795_000_000 % 86_400;
const KEY: &str = "outcome-key-0000000001";
const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "*", "sms_enabled": true}],
  "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
               "voicemail_notifications": true}],
  "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}],
  "api_keys": [{"name": "k", "secret": "outcome-key-0000000001", "tenants": ["59"], "permissions": ["sms"]}]
}"#;

async fn setup() -> Vec<(Backend, Arc<AtomicI64>)> {
    backends_at(CONFIG, T0).await
}

fn deadline(clock: &AtomicI64) -> u64 {
    ((clock.load(Ordering::SeqCst) + FUNCTION_TIMEOUT_SECS) * 1000) as u64
}

fn voicemail(name: &str) -> Value {
    json!({ "Records": [s3_record(&format!("voicemail/59/1001/{name}.wav"), "0A1")] })
}

async fn log(b: &Backend) -> Vec<MessageRecord> {
    b.admin.messages(Some(&TenantId::parse("59").unwrap()), 100).await.unwrap()
}

#[tokio::test]
async fn a_voicemails_outcome_is_recorded_however_the_closing_write_stumbles() {
    use Stumble::{AnswerLost, Before};
    for (b, clock) in setup().await {
        for (n, plan) in
            [vec![Before, Before, Before], vec![AnswerLost], vec![Before, AnswerLost, Before]].into_iter().enumerate()
        {
            let (service, store) = dying_service(&b, &clock);
            store.stumble(&plan);
            let sent_before = b.gateway.accepted().len();
            let (logs, guard) = capture_logs();
            let event = voicemail(&format!("stumble-{n}"));
            let answer = trigger_by(&service, event.clone(), deadline(&clock)).await.unwrap();
            drop(guard);
            assert_eq!(answer, json!({"sent": 1, "skipped": 0, "duplicates": 0}), "{}: {plan:?}", b.name);
            assert_eq!(b.gateway.accepted().len(), sent_before + 1, "{}: one SMS", b.name);
            // Every try until one found the write done: Done, or AlreadyDone
            // after a lost answer; never taken over.
            let found = store.finished.lock().unwrap().clone();
            let last = found.last().cloned().unwrap();
            let expected = if plan.contains(&AnswerLost) { Finished::AlreadyDone } else { Finished::Done };
            assert_eq!((found.len(), last), (plan.len() + 1, Ok(expected)), "{}: {plan:?}: {found:?}", b.name);
            let text = logs.text();
            assert!(!text.contains("taken over") && !text.contains("giving up"), "{text}");
            // The entry says sent, with its provider's id, its attempt counted once.
            let entries: Vec<MessageRecord> = log(&b).await;
            let provider_id = b.gateway.accepted().last().map(|s| s.id.clone());
            let this = entries.iter().find(|m| m.provider_id == provider_id);
            let this = this.unwrap_or_else(|| panic!("{}: the sent SMS is logged: {entries:?}", b.name));
            assert_eq!((this.status, this.attempts, this.lease_until), (MessageStatus::Sent, 1, None), "{}", b.name);
            // Announced again (S3 and EventBridge, SQS's redelivery): a duplicate.
            clock.fetch_add(600, Ordering::SeqCst);
            let again = trigger_by(&b.service_at(&clock), event, deadline(&clock)).await.unwrap();
            assert_eq!(again, json!({"sent": 0, "skipped": 0, "duplicates": 1}), "{}: {plan:?}", b.name);
            assert_eq!(b.gateway.accepted().len(), sent_before + 1, "{}: still one SMS", b.name);
        }
    }
}

#[tokio::test]
async fn an_api_sends_entry_is_written_however_the_closing_write_stumbles() {
    use Stumble::{AnswerLost, Before};
    for (b, clock) in setup().await {
        let (service, store) = dying_service(&b, &clock);
        store.stumble(&[Before, AnswerLost]);
        let body = json!({"to": "+14165551234", "message": "stumbling"}).to_string();
        let req = request("POST", "/api/sms/send", &[("x-api-key", KEY), ("content-type", "application/json")], &body);
        let (status, sent) = answer(send_sms::handler::handle(&service, req).await.unwrap());
        assert_eq!(status, 200, "{}: {sent}", b.name);
        let entries = log(&b).await;
        let entry = entries.iter().find(|m| m.provider_id.as_deref() == sent["id"].as_str()).expect("logged");
        assert_eq!((entry.status, entry.attempts), (MessageStatus::Sent, 1), "{}: {entries:?}", b.name);
        assert_eq!(store.finished.lock().unwrap().len(), 3, "{}", b.name);
    }
}

/// The entry of a run that died mid-send: `sending` within its lease,
/// `unknown` past it, in the log, in a filter, and for one message; a
/// redelivery of its voicemail continues it.
#[tokio::test]
async fn an_entry_whose_run_died_reads_unknown_once_its_lease_ends() {
    for (b, clock) in setup().await {
        let (dying, store) = dying_service(&b, &clock);
        store.die_at(Step::AfterSend);
        let event = voicemail("died");
        let deadline_ms = deadline(&clock);
        tokio::select! {
            _ = trigger_by(&dying, event.clone(), deadline_ms) => panic!("the run was to die"),
            () = store.died.notified() => {}
        }
        let read = |query: &'static str| {
            let service = b.service_at(&clock);
            async move {
                let req = request("GET", &format!("/api/sms/messages?{query}"), &[("x-api-key", KEY)], "");
                answer(send_sms::handler::handle(&service, req).await.unwrap()).1
            }
        };
        let page = read("until=2026-12-31T00:00:00Z&since=2026-01-01T00:00:00Z").await;
        assert_eq!(page["messages"][0]["status"], "sending", "{}: within its lease: {page}", b.name);
        let id = page["messages"][0]["id"].as_str().unwrap().to_owned();
        // Past the lease, nothing having come: unknown, wherever it is read.
        let lease_end = i64::try_from(deadline_ms / 1000).unwrap() + LEASE_MARGIN_SECS;
        clock.store(lease_end, Ordering::SeqCst);
        let page = read("until=2026-12-31T00:00:00Z&since=2026-01-01T00:00:00Z").await;
        assert_eq!(page["messages"][0]["status"], "unknown", "{}: {page}", b.name);
        assert_eq!(page["messages"][0]["error"], shared::domain::UNKNOWN_OUTCOME);
        let unknown = read("until=2026-12-31T00:00:00Z&since=2026-01-01T00:00:00Z&status=unknown").await;
        assert_eq!(unknown["messages"].as_array().map(Vec::len), Some(1), "{}: {unknown}", b.name);
        let sending = read("until=2026-12-31T00:00:00Z&since=2026-01-01T00:00:00Z&status=sending").await;
        assert_eq!(sending["messages"], json!([]), "{}", b.name);
        let service = b.service_at(&clock);
        let req = request("GET", &format!("/api/sms/messages/{id}"), &[("x-api-key", KEY)], "");
        assert_eq!(answer(send_sms::handler::handle(&service, req).await.unwrap()).1["status"], "unknown");
        // Its voicemail announced again takes the claim over and continues
        // the same entry (the README's duplicate window: it had gone out).
        let again = trigger_by(&b.service_at(&clock), event, deadline(&clock)).await.unwrap();
        assert_eq!(again["sent"], 1, "{}: {again}", b.name);
        let page = read("until=2026-12-31T00:00:00Z&since=2026-01-01T00:00:00Z").await;
        let messages = page["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{}: one entry, continued: {page}", b.name);
        assert_eq!(
            (&messages[0]["id"], &messages[0]["status"], &messages[0]["attempts"]),
            (&json!(id), &json!("sent"), &json!(2))
        );
    }
}

/// On DynamoDB, the closing write's tries are one transaction: each carries
/// the same `ClientRequestToken`, which DynamoDB answers without running
/// again within ten minutes (moto runs it again and is refused by the
/// written marker, which the try reads as done).
#[tokio::test]
async fn the_closing_writes_tries_carry_one_client_request_token() {
    let Some(m) = integration_tests::moto::connect().await else { return };
    let admin: &dyn shared::ports::Admin = &*m.store;
    let config = shared::service::config::Config::from_json(CONFIG).unwrap();
    let plan = config.plan(&[], 0);
    admin.apply(&plan.snapshot, &plan.delete_keys).await.unwrap();
    let store = integration_tests::platform::Dying::new(m.store.clone());
    store.stumble(&[Stumble::Before, Stumble::AnswerLost]);
    let clock = Arc::new(AtomicI64::new(T0));
    let gateway = Arc::new(integration_tests::TestGateway::new(m.gateway.clone()));
    let service = Service::new(store, gateway, Default::default(), clock.clone());
    m.mark().await;
    let answer = trigger_by(&service, voicemail("token"), deadline(&clock)).await.unwrap();
    assert_eq!(answer["sent"], 1, "{answer}");
    let recorded = integration_tests::moto::recording(&m.endpoint).await;
    let transactions: Vec<&Value> = recorded
        .iter()
        .filter(|r| r.operation == "TransactWriteItems" && r.tables().contains(&m.table))
        .map(|r| &r.json)
        .collect();
    // The start, then the end's two tries that reached DynamoDB.
    let ends: Vec<&str> =
        transactions.iter().rev().take(2).map(|t| t["ClientRequestToken"].as_str().unwrap_or_default()).collect();
    assert_eq!(ends.len(), 2, "{transactions:?}");
    assert!(!ends[0].is_empty() && ends[0] == ends[1], "one token for every try of the end: {ends:?}");
    let start = transactions[transactions.len() - 3]["ClientRequestToken"].as_str().unwrap_or_default();
    assert_ne!(start, ends[0], "the start is another transaction");
}
