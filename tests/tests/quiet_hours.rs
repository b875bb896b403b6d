//! Quiet hours on both stores: a voicemail SMS that would go inside its
//! extension's window is held (logged `held`, with when it goes) and sent
//! by the scheduled sender at the window's end; several of one extension
//! go as one digest, each held entry pointing to it. API sends and the
//! REST voicemail endpoint are never held. Exactly once: redeliveries
//! while held, scheduled runs killed at every step, two runs at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use integration_tests::platform::{Dying, FUNCTION_TIMEOUT_SECS, STEPS, Step};
use integration_tests::{Backend, answer, backends, moto, request, trigger_by};
use serde_json::{Value, json};
use shared::domain::{MessageRecord, MessageStatus, TenantId};
use shared::inbound::trigger::send_due;
use shared::service::{LEASE_MARGIN_SECS, Policy, Service};

/// Monday 2026-01-12, 23:00 in Toronto (EST, UTC-5): 2026-01-13T04:00Z.
const MON_23H: i64 = 1_768_276_800;
/// Tuesday 07:00 in Toronto, the window's end: 2026-01-13T12:00Z.
const TUE_7H: i64 = 1_768_305_600;
const TO: &str = "+14165551234";
const KEY: &str = "quiet-hours-test-key-01";

fn config(extension_quiet: Option<Value>) -> String {
    let mut extension = json!({"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": TO});
    if let Some(q) = extension_quiet {
        extension["quiet_hours"] = q;
    }
    json!({
        "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
        "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
                     "voicemail_notifications": true, "voicemail_template": "VM on {extension} from {caller_id}",
                     "max_segments": 1,
                     "quiet_hours": {"time_zone": "America/Toronto", "from": "22:00", "to": "07:00"}}],
        "extensions": [extension],
        "api_keys": [{"name": "quiet", "secret": KEY, "tenants": ["59"], "permissions": ["sms"], "enabled": true}]
    })
    .to_string()
}

struct World {
    b: Backend,
    clock: Arc<AtomicI64>,
    dying: Arc<Dying>,
    svc: Service,
}

async fn worlds(config: &str) -> Vec<World> {
    let mut all = Vec::new();
    for b in backends().await {
        b.apply(config).await;
        let clock = Arc::new(AtomicI64::new(MON_23H));
        let dying = Dying::new(b.store.clone());
        let svc = Service::new(dying.clone(), b.gateway.clone(), Policy::default(), clock.clone());
        all.push(World { b, clock, dying, svc });
    }
    all
}

/// The PBX's event of one voicemail from `caller`.
fn voicemail(id: &str, caller: &str) -> Value {
    json!({"id": format!("e-{id}"), "detail-type": "New Voicemail", "source": "pbx",
           "detail": {"tenant": "59", "extension": "1001", "message_id": id, "caller_id": caller}})
}

impl World {
    fn at(&self, epoch: i64) {
        self.clock.store(epoch, Ordering::SeqCst);
    }

    fn deadline(&self) -> u64 {
        ((self.clock.load(Ordering::SeqCst) + FUNCTION_TIMEOUT_SECS) * 1000) as u64
    }

    async fn trigger(&self, event: Value) -> Value {
        trigger_by(&self.svc, event, self.deadline()).await.unwrap_or_else(|e| panic!("{}: {e}", self.b.name))
    }

    async fn scheduled(&self) -> Value {
        serde_json::to_value(send_due(&self.svc, Some(self.deadline())).await.unwrap()).unwrap()
    }

    async fn entries(&self) -> Vec<MessageRecord> {
        let t = TenantId::parse("59").unwrap();
        let mut all = self.b.admin.messages(Some(&t), 100).await.unwrap();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    async fn texts(&self) -> Vec<String> {
        self.b.sent().await.into_iter().filter(|s| s.to == TO).map(|s| s.text).collect()
    }
}

#[tokio::test]
async fn a_voicemail_in_quiet_hours_is_held_then_sent_when_they_end() {
    for w in worlds(&config(None)).await {
        let first = w.trigger(voicemail("m1", "+14165550100")).await;
        assert_eq!(first, json!({"sent": 0, "skipped": 0, "duplicates": 0, "held": 1}), "{}", w.b.name);
        let [entry] = &w.entries().await[..] else { panic!("{}: one entry", w.b.name) };
        // Nothing tried yet: no attempt counted.
        let held = (entry.status, entry.due, entry.attempts);
        assert_eq!(held, (MessageStatus::Held, Some(TUE_7H), 0), "{}", w.b.name);
        assert!(w.texts().await.is_empty(), "{}: nothing sent at 23:00", w.b.name);
        // Redelivered while held: nothing added.
        assert_eq!(w.trigger(voicemail("m1", "+14165550100")).await["duplicates"], 1, "{}", w.b.name);
        // Not before the window ends.
        w.at(TUE_7H - 1);
        assert_eq!(w.scheduled().await["sent"], 0, "{}", w.b.name);
        w.at(TUE_7H + 20);
        assert_eq!(w.scheduled().await["sent"], 1, "{}", w.b.name);
        assert_eq!(w.texts().await, ["VM on 1001 from +14165550100"], "{}", w.b.name);
        let [entry] = &w.entries().await[..] else { panic!("{}: still one entry", w.b.name) };
        let sent = (entry.status, entry.due, entry.digest.as_deref(), entry.attempts);
        assert_eq!(sent, (MessageStatus::Sent, None, None, 1), "{}", w.b.name);
        assert_eq!(w.scheduled().await["sent"], 0, "{}: sent once", w.b.name);
        assert_eq!(w.trigger(voicemail("m1", "+14165550100")).await["duplicates"], 1, "{}", w.b.name);
    }
}

#[tokio::test]
async fn several_held_voicemails_go_as_one_digest_that_each_entry_points_to() {
    for w in worlds(&config(None)).await {
        let callers = ["+14165550101", "+14165550102", "+14165550103", "+14165550104", "+14165550105", "+14165550106"];
        for (i, caller) in callers.iter().enumerate() {
            w.at(MON_23H + 60 * i64::try_from(i).unwrap());
            assert_eq!(w.trigger(voicemail(&format!("d{i}"), caller)).await["held"], 1, "{}", w.b.name);
        }
        w.at(TUE_7H + 5);
        assert_eq!(w.scheduled().await["sent"], 1, "{}: one SMS for six", w.b.name);
        // Max segments 1: as many lines as fit in 160 GSM-7 characters.
        let texts = w.texts().await;
        assert_eq!(
            texts,
            ["6 new voicemails for 1001:\nMon 23:00 from +14165550101\nMon 23:01 from +14165550102\n\
              Mon 23:02 from +14165550103\nMon 23:03 from +14165550104\nand 2 more"],
            "{}",
            w.b.name
        );
        let entries = w.entries().await;
        let (digests, held): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.id.starts_with("dg-"));
        let [digest] = &digests[..] else { panic!("{}: one digest entry: {entries:?}", w.b.name) };
        let sent = (digest.status, digest.segments, digest.to.as_str(), digest.attempts);
        assert_eq!(sent, (MessageStatus::Sent, 1, TO, 1), "{}", w.b.name);
        assert!(digest.provider_id.is_some(), "{}: the digest carries the provider's id", w.b.name);
        assert_eq!(held.len(), 6, "{}", w.b.name);
        for e in held {
            let member = (e.status, e.digest.as_deref(), e.due, e.attempts);
            assert_eq!(member, (MessageStatus::Sent, Some(&*digest.id), None, 1), "{}", w.b.name);
        }
        assert_eq!(w.scheduled().await["sent"], 0, "{}", w.b.name);
        assert_eq!(w.trigger(voicemail("d3", callers[3])).await["duplicates"], 1, "{}", w.b.name);
    }
}

#[tokio::test]
async fn an_extension_keeps_its_own_window_or_none() {
    // Its own window, not quiet at 23:00 (a day shift's: 09:00 to 17:00).
    let own = json!({"time_zone": "America/Toronto", "from": "09:00", "to": "17:00"});
    for (setting, held) in [(Some(json!(false)), 0), (Some(own), 0), (None, 1)] {
        for w in worlds(&config(setting.clone())).await {
            let got = w.trigger(voicemail("x1", "+14165550100")).await;
            assert_eq!(
                (got["held"].as_u64().unwrap_or(0), got["sent"].as_u64()),
                (held, Some(1 - held)),
                "{setting:?}"
            );
        }
    }
}

#[tokio::test]
async fn api_sends_and_the_rest_voicemail_endpoint_are_never_held() {
    for w in worlds(&config(None)).await {
        let body = json!({"to": TO, "message": "at 23:00", "server": "59"}).to_string();
        let req = request("POST", "/api/sms/send", &[("x-api-key", KEY)], &body);
        assert_eq!(answer(send_sms::handler::handle(&w.svc, req).await.unwrap()).0, 200, "{}", w.b.name);
        let body = r#"{"extension": "1001", "server": "59"}"#;
        let req = request("POST", "/api/sms/notifications/voicemail", &[("x-api-key", KEY)], body);
        assert_eq!(answer(voicemail_notify::handler::handle(&w.svc, req).await.unwrap()).0, 200, "{}", w.b.name);
        assert_eq!(w.texts().await.len(), 2, "{}: both sent at 23:00", w.b.name);
        assert!(w.entries().await.iter().all(|e| e.status == MessageStatus::Sent), "{}", w.b.name);
    }
}

/// A scheduled run killed at each step: the next run after the lease sends
/// the digest (once, but when it died after the send and before recording
/// it: then twice, the one window the README's "Exactly once" names).
#[tokio::test]
async fn scheduled_runs_killed_at_every_step_send_the_digest_once() {
    for step in STEPS {
        for w in worlds(&config(None)).await {
            w.trigger(voicemail("k1", "+14165550101")).await;
            w.trigger(voicemail("k2", "+14165550102")).await;
            w.at(TUE_7H);
            w.dying.die_at(step);
            tokio::select! {
                r = w.scheduled() => panic!("{}: {step:?}: should have died: {r}", w.b.name),
                () = w.dying.died.notified() => {}
            }
            // Inside the lease: a run finds the claims held, sends nothing.
            w.at(TUE_7H + 30);
            let early = w.scheduled().await;
            w.at(TUE_7H + 2 * (FUNCTION_TIMEOUT_SECS + LEASE_MARGIN_SECS));
            w.scheduled().await;
            let texts = w.texts().await;
            let expected = if step == Step::AfterSend { 2 } else { 1 };
            assert_eq!(texts.len(), expected, "{}: {step:?}: {texts:?} (early run {early})", w.b.name);
            assert!(texts.iter().all(|t| t.starts_with("2 new voicemails for 1001:")), "{texts:?}");
            assert_eq!(w.scheduled().await["sent"], 0, "{}: {step:?}", w.b.name);
            let entries = w.entries().await;
            assert_eq!(entries.len(), 3, "{}: {step:?}: {entries:?}", w.b.name);
            assert!(entries.iter().all(|e| e.status == MessageStatus::Sent), "{}: {step:?}: {entries:?}", w.b.name);
        }
    }
}

#[tokio::test]
async fn two_scheduled_runs_at_once_send_one_digest() {
    for w in worlds(&config(None)).await {
        for i in 0..3 {
            w.trigger(voicemail(&format!("c{i}"), "+14165550101")).await;
        }
        w.at(TUE_7H + 1);
        let (a, b) = tokio::join!(w.scheduled(), w.scheduled());
        assert_eq!(a["sent"].as_u64().unwrap() + b["sent"].as_u64().unwrap(), 1, "{}: {a} {b}", w.b.name);
        w.at(TUE_7H + 2 * (FUNCTION_TIMEOUT_SECS + LEASE_MARGIN_SECS));
        assert_eq!(w.scheduled().await["sent"], 0, "{}", w.b.name);
        assert_eq!(w.texts().await.len(), 1, "{}", w.b.name);
    }
}

/// What a scheduled run costs on AWS (moto's recorder): the index's four
/// shards queried, each due wait read, the tenant read once, the digest's
/// claims taken in one write and ended in another, one SMS.
#[tokio::test]
async fn requests_per_scheduled_run_with_a_digest() {
    use std::collections::BTreeMap;
    let Some(m) = moto::connect().await else { return };
    let to = "+14165557022";
    let clock = Arc::new(AtomicI64::new(MON_23H));
    let svc = Service::new(m.store.clone(), m.gateway.clone(), Policy::default(), clock.clone());
    let plan = shared::service::config::Config::from_json(&config(None).replace(TO, to)).unwrap().plan(&[], 0);
    shared::ports::Admin::apply(&*m.store, &plan.snapshot, &plan.delete_keys).await.unwrap();
    for i in 0..3 {
        trigger_by(&svc, voicemail(&format!("r{i}"), "+14165550101"), 0).await.unwrap();
    }
    clock.store(TUE_7H, Ordering::SeqCst);
    m.mark().await;
    assert_eq!(send_due(&svc, None).await.unwrap().sent, 1);
    let r = m.requests_since_mark(&[to]).await;
    let counts = |pairs: &[(&str, usize)]| -> BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    assert_eq!(
        r.dynamodb,
        counts(&[("Query", 4), ("GetItem", 3), ("BatchGetItem", 1), ("TransactWriteItems", 2)]),
        "{r:?}"
    );
    assert_eq!(r.sns, counts(&[("CheckIfPhoneNumberIsOptedOut", 1), ("Publish", 1)]), "{r:?}");
}

/// On the service's clock, across daylight-saving changes: Toronto's
/// spring-forward night, a window ending in the skipped hour (02:30 is
/// 03:30 EDT); London's fall-back night, a window inside the repeated hour
/// holds its first pass only.
#[tokio::test]
async fn held_until_the_right_instant_across_daylight_saving_changes() {
    // Saturday 2026-03-07, 23:00 EST: 2026-03-08T04:00Z; 03:30 EDT is 07:30Z.
    const SAT_23H: i64 = 1_772_942_400;
    const SUN_0330_EDT: i64 = 1_772_955_000;
    let toronto = json!({"time_zone": "America/Toronto", "from": "22:00", "to": "02:30"});
    for w in worlds(&config(Some(toronto))).await {
        w.at(SAT_23H);
        assert_eq!(w.trigger(voicemail("s1", "+14165550100")).await["held"], 1, "{}", w.b.name);
        assert_eq!(w.entries().await[0].due, Some(SUN_0330_EDT), "{}", w.b.name);
        w.at(SUN_0330_EDT - 1);
        assert_eq!(w.scheduled().await["sent"], 0, "{}", w.b.name);
        w.at(SUN_0330_EDT);
        assert_eq!(w.scheduled().await["sent"], 1, "{}", w.b.name);
    }
    // Sunday 2026-10-25: 01:15 to 01:45 BST is 00:15Z to 00:45Z; at 01:20Z
    // it is 01:20 again (GMT), outside the window.
    const FIRST_0120: i64 = 1_792_887_600;
    const FIRST_0145: i64 = 1_792_889_100;
    const SECOND_0120: i64 = 1_792_891_200;
    let london = json!({"time_zone": "Europe/London", "from": "01:15", "to": "01:45"});
    for w in worlds(&config(Some(london))).await {
        w.at(FIRST_0120);
        assert_eq!(w.trigger(voicemail("f1", "+14165550100")).await["held"], 1, "{}", w.b.name);
        assert_eq!(w.entries().await[0].due, Some(FIRST_0145), "{}", w.b.name);
        w.at(SECOND_0120);
        let second = w.trigger(voicemail("f2", "+14165550101")).await;
        assert_eq!(second, json!({"sent": 1, "skipped": 0, "duplicates": 0}), "{}", w.b.name);
    }
}
