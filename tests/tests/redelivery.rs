//! The voicemail trigger on AWS's real delivery semantics, on both stores and
//! a test clock: runs that die at any step, redeliveries by each platform's
//! rules, claims with owners, a PBX that retries, voicemails' own budget,
//! final refusals, one identity whichever path announced an object.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use integration_tests::platform::{
    FUNCTION_TIMEOUT_SECS, PLATFORMS, Platform, STEPS, Step, backends_at, dying_service,
};
use integration_tests::{Backend, s3_record, sqs_batch, trigger_by};
use serde_json::{Value, json};
use shared::domain::{MessageRecord, MessageStatus, TenantId};
use shared::service::LEASE_MARGIN_SECS;

/// A realistic start: on the minute and on the day.
const T0: i64 = 1_795_000_000 - 1_795_000_000 % 86_400;

const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "*", "sms_enabled": true}],
  "tenants": [
    {"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true,
     "voicemail_rate_limits": {"per_minute": 1000, "per_day": 1000}},
    {"id": "70", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true}
  ],
  "extensions": [
    {"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"},
    {"tenant": "59", "extension": "1002", "sms_notifications": false, "sms_number": "+14165551235"},
    {"tenant": "59", "extension": "1003", "sms_notifications": true, "sms_number": "+14165551299"},
    {"tenant": "70", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551270"}
  ],
  "api_keys": [{"name": "k", "secret": "redelivery-key-000000001", "tenants": ["59"], "permissions": ["sms"]}]
}"#;

async fn setup() -> Vec<(Backend, Arc<AtomicI64>)> {
    backends_at(CONFIG, T0).await
}

fn direct(records: &[Value]) -> Value {
    json!({ "Records": records })
}

fn deadline(clock: &AtomicI64) -> u64 {
    ((clock.load(Ordering::SeqCst) + FUNCTION_TIMEOUT_SECS) * 1000) as u64
}

/// The log entry of the voicemail sent to `to`.
async fn entry(b: &Backend, tenant: &str, to: &str) -> Vec<MessageRecord> {
    let t = TenantId::parse(tenant).unwrap();
    b.admin.messages(Some(&t), 1000).await.unwrap().into_iter().filter(|m| m.to == to).collect()
}

fn sent_to(b: &[integration_tests::SentSms], to: &str) -> usize {
    b.iter().filter(|s| s.to == to).count()
}

#[tokio::test]
async fn a_pending_claim_is_retried_not_taken_for_a_duplicate() {
    for (b, clock) in setup().await {
        let (svc, dying) = dying_service(&b, &clock);
        let event = direct(&[s3_record("voicemail/59/1001/pending.wav", "0A")]);
        // The holder dies after claiming.
        dying.die_at(Step::AfterClaim);
        tokio::select! {
            r = trigger_by(&svc, event.clone(), deadline(&clock)) => panic!("{}: the run should have died: {r:?}", b.name),
            () = dying.died.notified() => {}
        }
        let log = entry(&b, "59", "+14165551234").await;
        assert_eq!(log.iter().map(|m| m.status).collect::<Vec<_>>(), [MessageStatus::Sending], "{}", b.name);
        // Redelivered inside the lease: a failure, so that the platform tries again.
        clock.store(T0 + FUNCTION_TIMEOUT_SECS + LEASE_MARGIN_SECS - 1, Ordering::SeqCst);
        let early = trigger_by(&svc, event.clone(), deadline(&clock)).await;
        assert!(early.unwrap_err().contains("will be retried"), "{}", b.name);
        // In a batch, that record fails alone.
        let batch = sqs_batch(&[
            s3_record("voicemail/59/1001/pending.wav", "0A"),
            s3_record("voicemail/70/1001/other.wav", "0B"),
        ]);
        assert_eq!(
            trigger_by(&svc, batch, deadline(&clock)).await.unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "m0"}]}),
            "{}",
            b.name
        );
        assert_eq!(b.gateway.accepted().len(), 1, "{}: only the other voicemail went", b.name);
        // Once the lease (deadline + margin) is over: sent, exactly once.
        clock.store(T0 + FUNCTION_TIMEOUT_SECS + LEASE_MARGIN_SECS, Ordering::SeqCst);
        assert_eq!(trigger_by(&svc, event.clone(), deadline(&clock)).await.unwrap()["sent"], 1, "{}", b.name);
        assert_eq!(trigger_by(&svc, event, deadline(&clock)).await.unwrap()["duplicates"], 1, "{}", b.name);
        let log = entry(&b, "59", "+14165551234").await;
        assert_eq!(
            log.iter().map(|m| (m.status, m.attempts)).collect::<Vec<_>>(),
            [(MessageStatus::Sent, 2)],
            "{}",
            b.name
        );
        assert_eq!(b.sent().await.len(), 2, "{}", b.name);
    }
}

#[tokio::test]
async fn a_holder_whose_lease_was_taken_over_can_neither_finish_nor_release() {
    for (b, clock) in setup().await {
        let svc = b.service_at(&clock);
        for (variant, key) in [("finish", "owned-a.wav"), ("release", "owned-b.wav")] {
            clock.store(T0, Ordering::SeqCst);
            let event = direct(&[s3_record(&format!("voicemail/59/1001/{key}"), "0C")]);
            let sent_before = b.gateway.accepted().len();
            // Holder A is stuck in its send past its lease.
            let gate = b.gateway.hold_next();
            let a = {
                let (svc, event, d) = (svc.clone(), event.clone(), deadline(&clock));
                tokio::spawn(async move { trigger_by(&svc, event, d).await })
            };
            while b.gateway.attempts() == sent_before {
                tokio::task::yield_now().await;
            }
            // B arrives after A's lease and takes the claim over.
            clock.store(T0 + FUNCTION_TIMEOUT_SECS + LEASE_MARGIN_SECS, Ordering::SeqCst);
            let b_answer = trigger_by(&svc, event.clone(), deadline(&clock)).await.unwrap();
            assert_eq!(b_answer["sent"], 1, "{}: {variant}", b.name);
            // A goes on: its send succeeds (it cannot finish B's claim) or
            // fails (it cannot release it).
            if variant == "release" {
                b.gateway.fail_next(1);
            }
            gate.notify_one();
            let a_answer = a.await.unwrap();
            match variant {
                "finish" => assert_eq!(a_answer.unwrap()["sent"], 1),
                _ => assert!(a_answer.unwrap_err().contains("will be retried")),
            }
            // B's finished claim stands: a redelivery is a duplicate, and the
            // log keeps B's outcome.
            assert_eq!(
                trigger_by(&svc, event, deadline(&clock)).await.unwrap()["duplicates"],
                1,
                "{}: {variant}",
                b.name
            );
        }
        let log = entry(&b, "59", "+14165551234").await;
        assert_eq!(log.len(), 2, "{}", b.name);
        assert!(log.iter().all(|m| m.status == MessageStatus::Sent), "{}: {log:?}", b.name);
        // Only a holder running past its own lease sends twice.
        assert_eq!(b.sent().await.len(), 3, "{}", b.name);
    }
}

#[tokio::test]
async fn a_pbx_that_retries_put_events_gets_one_sms_per_tenant_and_message() {
    for (b, clock) in setup().await {
        let svc = b.service_at(&clock);
        let event = |id: &str, tenant: &str, message_id: Option<&str>| {
            let mut detail = json!({"tenant": tenant, "extension": "1001", "caller_id": "+14165559876"});
            if let Some(m) = message_id {
                detail["message_id"] = json!(m);
            }
            json!({"version": "0", "id": id, "detail-type": "New Voicemail", "source": "pbx.voicemail",
                   "time": "2026-11-26T10:00:00Z", "detail": detail})
        };
        // PutEvents retried: a new event id, the same message id.
        for id in ["e-1", "e-2", "e-3"] {
            trigger_by(&svc, event(id, "59", Some("vm-0001")), deadline(&clock)).await.unwrap();
        }
        // Another tenant's message with the same id is its own voicemail.
        trigger_by(&svc, event("e-4", "70", Some("vm-0001")), deadline(&clock)).await.unwrap();
        // Without a message id, the event id names it (within its tenant).
        trigger_by(&svc, event("e-5", "59", None), deadline(&clock)).await.unwrap();
        trigger_by(&svc, event("e-5", "59", None), deadline(&clock)).await.unwrap();
        trigger_by(&svc, event("e-5", "70", None), deadline(&clock)).await.unwrap();
        let sent = b.sent().await;
        assert_eq!((sent_to(&sent, "+14165551234"), sent_to(&sent, "+14165551270")), (2, 2), "{}", b.name);
    }
}

#[tokio::test]
async fn voicemails_have_their_own_budget_and_final_refusals_are_recorded() {
    const LIMITED: &str = r#"{
      "tenants": [{"id": "61", "active": true, "sender_number": "+14165550000", "api_enabled": true,
                   "voicemail_notifications": true, "allowed_countries": ["CA"],
                   "rate_limits": {"per_minute": 1, "per_day": 1},
                   "voicemail_rate_limits": {"per_minute": 2, "per_day": 3}}],
      "extensions": [
        {"tenant": "61", "extension": "1", "sms_notifications": true, "sms_number": "+14165556101"},
        {"tenant": "61", "extension": "2", "sms_notifications": true, "sms_number": "+442079460123"}
      ],
      "api_keys": [{"name": "k61", "secret": "budget-key-61-000000001", "tenants": ["61"], "permissions": ["sms"]}]
    }"#;
    for (b, clock) in setup().await {
        b.apply(LIMITED).await;
        let svc = b.service_at(&clock);
        let vm = |n: u32| direct(&[s3_record(&format!("voicemail/61/1/msg{n}.wav"), &format!("{n:02X}"))]);
        // The API spends its own budget...
        let send = |to: &str| {
            integration_tests::request(
                "POST",
                "/api/sms/send",
                &[("x-api-key", "budget-key-61-000000001")],
                &json!({"to": to, "message": "hi"}).to_string(),
            )
        };
        let api = |svc: &shared::service::Service, to: &'static str| {
            let svc = svc.clone();
            async move { integration_tests::answer(send_sms::handler::handle(&svc, send(to)).await.unwrap()).0 }
        };
        assert_eq!(api(&svc, "+14165556197").await, 200, "{}", b.name);
        assert_eq!(api(&svc, "+14165556198").await, 429, "{}", b.name);
        // ...and voicemails still go out, up to theirs.
        for n in 1..=2 {
            assert_eq!(trigger_by(&svc, vm(n), deadline(&clock)).await.unwrap()["sent"], 1, "{}: vm {n}", b.name);
        }
        // A full minute delays a voicemail: the platform retries it.
        let delayed = trigger_by(&svc, vm(3), deadline(&clock)).await;
        assert!(delayed.unwrap_err().contains("will be retried"), "{}", b.name);
        clock.store(T0 + 60, Ordering::SeqCst);
        assert_eq!(trigger_by(&svc, vm(3), deadline(&clock)).await.unwrap()["sent"], 1, "{}", b.name);
        // A full day refuses it for good: recorded with the reason, never retried.
        assert_eq!(trigger_by(&svc, vm(4), deadline(&clock)).await.unwrap()["skipped"], 1, "{}", b.name);
        clock.store(T0 + 86_400, Ordering::SeqCst);
        assert_eq!(
            trigger_by(&svc, vm(4), deadline(&clock)).await.unwrap()["duplicates"],
            1,
            "{}: not retried the next day",
            b.name
        );
        let refused: Vec<_> = b
            .admin
            .messages(Some(&TenantId::parse("61").unwrap()), 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.status == MessageStatus::Refused)
            .collect();
        assert_eq!(refused.len(), 1, "{}", b.name);
        assert_eq!(
            refused[0].error.as_deref(),
            Some("Rate limit exceeded: at most 3 SMS per day for this tenant"),
            "{}",
            b.name
        );

        // The provider's final refusal and a refused country: final too.
        b.gateway.reject_next(1);
        assert_eq!(trigger_by(&svc, vm(5), deadline(&clock)).await.unwrap()["skipped"], 1, "{}", b.name);
        assert_eq!(trigger_by(&svc, vm(5), deadline(&clock)).await.unwrap()["duplicates"], 1, "{}", b.name);
        let abroad = direct(&[s3_record("voicemail/61/2/msg6.wav", "06")]);
        assert_eq!(trigger_by(&svc, abroad.clone(), deadline(&clock)).await.unwrap()["skipped"], 1, "{}", b.name);
        assert_eq!(trigger_by(&svc, abroad, deadline(&clock)).await.unwrap()["duplicates"], 1, "{}", b.name);
        // An opted-out destination (tenant 59's extension 1003): final.
        b.opt_out("+14165551299").await;
        let opted = direct(&[s3_record("voicemail/59/1003/msg8.wav", "08")]);
        assert_eq!(trigger_by(&svc, opted.clone(), deadline(&clock)).await.unwrap()["skipped"], 1, "{}", b.name);
        assert_eq!(trigger_by(&svc, opted, deadline(&clock)).await.unwrap()["duplicates"], 1, "{}", b.name);
        let opted = entry(&b, "59", "+14165551299").await;
        assert_eq!(
            opted.iter().map(|m| (m.status, m.error.as_deref())).collect::<Vec<_>>(),
            [(MessageStatus::OptedOut, Some("Destination has opted out of SMS"))],
            "{}",
            b.name
        );
        // An unavailable provider is not final: retried (the next minute:
        // every attempt counts against the budget), then sent.
        b.gateway.fail_next(1);
        assert!(trigger_by(&svc, vm(7), deadline(&clock)).await.is_err(), "{}", b.name);
        clock.store(T0 + 86_400 + 60, Ordering::SeqCst);
        assert_eq!(trigger_by(&svc, vm(7), deadline(&clock)).await.unwrap()["sent"], 1, "{}", b.name);

        let log = b.admin.messages(Some(&TenantId::parse("61").unwrap()), 100).await.unwrap();
        let mut outcomes: Vec<(String, &str, Option<&str>)> = log
            .iter()
            .filter(|m| m.kind.as_str() == "voicemail")
            .map(|m| (m.to.clone(), m.status.as_str(), m.error.as_deref()))
            .collect();
        outcomes.sort();
        assert_eq!(
            outcomes,
            [
                (
                    "+14165556101".to_owned(),
                    "refused",
                    Some("Rate limit exceeded: at most 3 SMS per day for this tenant")
                ),
                ("+14165556101".to_owned(), "refused", Some("injected rejection")),
                ("+14165556101".to_owned(), "sent", None),
                ("+14165556101".to_owned(), "sent", None),
                ("+14165556101".to_owned(), "sent", None),
                ("+14165556101".to_owned(), "sent", None),
                ("+442079460123".to_owned(), "refused", Some("Destination country GB is not allowed for this tenant")),
            ],
            "{}",
            b.name
        );
    }
}

/// Every step a run can die at, redelivered by every platform's rules: no
/// voicemail is lost; a duplicate only when the run died between the send
/// and marking it done; every outcome in the message log.
#[tokio::test]
async fn a_run_dying_at_any_step_loses_nothing() {
    let extensions: Vec<String> = (0..STEPS.len() * PLATFORMS.len())
        .map(|i| format!(r#"{{"tenant": "59", "extension": "30{i:02}", "sms_notifications": true, "sms_number": "+14165553{i:03}"}}"#))
        .collect();
    for (b, clock) in setup().await {
        b.apply(&format!(r#"{{"extensions": [{}]}}"#, extensions.join(","))).await;
        let (svc, dying) = dying_service(&b, &clock);
        let mut case = 0;
        for platform in PLATFORMS {
            for step in STEPS {
                let (ext, to) = (format!("30{case:02}"), format!("+14165553{case:03}"));
                case += 1;
                let record = s3_record(&format!("voicemail/59/{ext}/msg.wav"), "0F");
                let event = match platform {
                    Platform::Sqs { .. } => sqs_batch(&[record]),
                    _ => direct(&[record]),
                };
                dying.die_at(step);
                let delivered = platform
                    .deliver(&clock, &dying.died, |d| {
                        let (svc, event) = (svc.clone(), event.clone());
                        async move {
                            match trigger_by(&svc, event, d).await {
                                Ok(answer) => answer
                                    .get("batchItemFailures")
                                    .is_none_or(|f| f.as_array().is_some_and(Vec::is_empty)),
                                Err(_) => false,
                            }
                        }
                    })
                    .await;
                let what = format!("{}: {platform:?}, died {step:?}: {delivered:?}", b.name);
                assert!(!delivered.dead_lettered && delivered.runs.last().is_some_and(|r| r.1), "{what}");
                let sms = sent_to(&b.gateway.accepted(), &to);
                let expected = if step == Step::AfterSend { 2 } else { 1 };
                assert_eq!(sms, expected, "{what}");
                let log = entry(&b, "59", &to).await;
                assert_eq!(log.iter().map(|m| m.status).collect::<Vec<_>>(), [MessageStatus::Sent], "{what}");
            }
            // A voicemail that does not qualify: skipped, with its reason, once.
            let skip = s3_record(&format!("voicemail/59/1002/skip-{case}.wav"), "0F");
            let event = match platform {
                Platform::Sqs { .. } => sqs_batch(&[skip]),
                _ => direct(&[skip]),
            };
            let delivered = platform
                .deliver(&clock, &dying.died, |d| {
                    let (svc, event) = (svc.clone(), event.clone());
                    async move { trigger_by(&svc, event, d).await.is_ok() }
                })
                .await;
            assert_eq!(delivered.runs.len(), 1, "{}: {platform:?}", b.name);
        }
        let skipped: Vec<_> = entry(&b, "59", "").await;
        assert_eq!(skipped.len(), PLATFORMS.len(), "{}", b.name);
        assert!(
            skipped.iter().all(|m| m.status == MessageStatus::Skipped
                && m.error.as_deref() == Some("SMS notifications are disabled for this extension")),
            "{}: {skipped:?}",
            b.name
        );
    }
}

/// S3 notifications URL-encode the key (space as '+'); EventBridge carries
/// it as stored. Either way, one object is one voicemail.
#[tokio::test]
async fn one_object_is_one_voicemail_whichever_path_announced_it() {
    for (b, clock) in setup().await {
        let svc = b.service_at(&clock);
        let stored = "voicemail/59/1001/a b+c%d.wav";
        let encoded = "voicemail/59/1001/a+b%2Bc%25d.wav";
        let eventbridge = |key: &str, version: Option<&str>, sequencer: &str| {
            let mut object =
                json!({"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": sequencer});
            if let Some(v) = version {
                object["version-id"] = json!(v);
            }
            json!({"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
                   "source": "aws.s3", "account": "111122223333", "time": "2026-11-26T10:00:00Z", "region": "us-east-1",
                   "resources": ["arn:aws:s3:::pbx-voicemail"],
                   "detail": {"version": "0", "bucket": {"name": "pbx-voicemail"}, "object": object,
                              "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                              "source-ip-address": "1.2.3.4", "reason": "PutObject"}})
        };
        // Through SQS first, then EventBridge (sequencer in another case and
        // padding): the same voicemail.
        let first =
            trigger_by(&svc, sqs_batch(&[s3_record(encoded, "0066F1A2B3C4D5E6F7")]), deadline(&clock)).await.unwrap();
        assert_eq!(first, json!({"batchItemFailures": []}), "{}", b.name);
        let again = trigger_by(&svc, eventbridge(stored, None, "66f1a2b3c4d5e6f7"), deadline(&clock)).await.unwrap();
        assert_eq!(again["duplicates"], 1, "{}", b.name);
        // EventBridge first this time, then the notification, with a version id.
        let other = "voicemail/59/1001/x+y 100%.wav";
        let other_encoded = "voicemail/59/1001/x%2By+100%25.wav";
        assert_eq!(
            trigger_by(&svc, eventbridge(other, Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"), "0A"), deadline(&clock))
                .await
                .unwrap()["sent"],
            1
        );
        let mut record = s3_record(other_encoded, "0A");
        record["s3"]["object"]["versionId"] = json!("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
        assert_eq!(trigger_by(&svc, direct(&[record]), deadline(&clock)).await.unwrap()["duplicates"], 1, "{}", b.name);
        // An EventBridge key is taken as stored, never decoded.
        assert_eq!(
            trigger_by(&svc, eventbridge(encoded, None, "01"), deadline(&clock)).await.unwrap()["sent"],
            1,
            "{}",
            b.name
        );
        assert_eq!(b.sent().await.len(), 3, "{}", b.name);
    }
}
