//! `{transcript}` in a voicemail SMS, on both stores, with S3 and Amazon
//! Transcribe on moto over the wire: from the PBX's event, from a sidecar
//! file, from a Transcribe job in two phases under one claim (its
//! completion delivered as AWS documents the event: moto emits none, nor
//! writes the output file, so the tests do both), a failed job, a
//! completion that never comes (the scheduled sender), redeliveries and
//! runs killed in either phase, two scheduled runs at once.

#![allow(clippy::too_many_lines)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use integration_tests::platform::{Dying, FUNCTION_TIMEOUT_SECS, Step, Stumble};
use integration_tests::{Backend, backends, moto, s3_record, trigger_by};
use serde_json::{Value, json};
use shared::adapters::s3::S3Voicemails;
use shared::adapters::transcribe::Transcribe;
use shared::domain::{MessageRecord, MessageStatus, NO_TRANSCRIPT, TenantId};
use shared::inbound::trigger::send_due;
use shared::service::{LEASE_MARGIN_SECS, Policy, Service};

const T0: i64 = 1_795_000_000 - 1_795_000_000 % 86_400;
const AUDIO: &str = "voicemail/59/1001/msg.wav";
const TO: &str = "+14165551234";

fn config(template: &str, transcription: Value, max_segments: u64) -> String {
    json!({
        "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
        "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
                     "voicemail_notifications": true, "voicemail_template": template,
                     "transcription": transcription, "max_segments": max_segments}],
        "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": TO}]
    })
    .to_string()
}

fn aws_transcription() -> Value {
    json!({"provider": "aws", "language": "en-US"})
}

/// One scenario's world: a backend, the test clock, a bucket of its own on
/// moto holding the audio, and the service reading S3 and Transcribe there.
struct World {
    b: Backend,
    clock: Arc<AtomicI64>,
    bucket: String,
    s3: aws_sdk_s3::Client,
    endpoint: String,
    dying: Arc<Dying>,
    svc: Service,
}

async fn worlds(config: &str) -> Vec<World> {
    let Some(endpoint) = moto::endpoint() else { return Vec::new() };
    let aws = moto::sdk_config(&endpoint).await;
    let mut all = Vec::new();
    for b in backends().await {
        b.apply(config).await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
        let bucket = moto::unique_table_name();
        s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
        put(&s3, &bucket, AUDIO, b"RIFF-audio").await;
        let clock = Arc::new(AtomicI64::new(T0));
        let dying = Dying::new(b.store.clone());
        let svc = Service::new(dying.clone(), b.gateway.clone(), Policy::default(), clock.clone())
            .with_transcript_files(Arc::new(S3Voicemails::new(&aws)))
            .with_transcriber(Arc::new(Transcribe::new(&aws)));
        all.push(World { b, clock, bucket, s3, endpoint: endpoint.clone(), dying, svc });
    }
    all
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object().bucket(bucket).key(key).body(body.to_vec().into()).send().await.expect("put");
}

impl World {
    fn deadline(&self) -> u64 {
        ((self.clock.load(Ordering::SeqCst) + FUNCTION_TIMEOUT_SECS) * 1000) as u64
    }

    fn at(&self, secs: i64) {
        self.clock.store(T0 + secs, Ordering::SeqCst);
    }

    /// The S3 notification of the audio (its one upload).
    fn uploaded(&self) -> Value {
        let mut r = s3_record(AUDIO, "0A");
        r["s3"]["bucket"]["name"] = json!(self.bucket);
        json!({"Records": [r]})
    }

    /// The same upload, announced by EventBridge.
    fn object_created(&self) -> Value {
        json!({"version": "0", "id": "e-1", "detail-type": "Object Created", "source": "aws.s3",
               "account": "123456789012", "time": "2026-11-26T10:00:00Z", "region": "us-east-1", "resources": [],
               "detail": {"bucket": {"name": self.bucket}, "object": {"key": AUDIO, "sequencer": "000A"}}})
    }

    async fn trigger(&self, event: Value) -> Value {
        trigger_by(&self.svc, event, self.deadline()).await.unwrap_or_else(|e| panic!("{}: {e}", self.b.name))
    }

    async fn entries(&self) -> Vec<MessageRecord> {
        let t = TenantId::parse("59").unwrap();
        self.b.admin.messages(Some(&t), 100).await.unwrap()
    }

    /// The voicemail's log entry, and its transcription job's name.
    async fn entry(&self) -> (MessageRecord, String) {
        let entries = self.entries().await;
        let [entry] = &entries[..] else { panic!("{}: {entries:?}", self.b.name) };
        (entry.clone(), format!("sms-{}", entry.id))
    }

    async fn texts(&self) -> Vec<String> {
        self.b.sent().await.into_iter().filter(|s| s.to == TO).map(|s| s.text).collect()
    }

    async fn scheduled(&self) -> Value {
        serde_json::to_value(send_due(&self.svc, Some(self.deadline())).await.unwrap()).unwrap()
    }

    /// Transcribe's output, where the job was told to write it.
    async fn transcribe_writes(&self, job: &str, transcript: &str) {
        let output = json!({"jobName": job, "accountId": "123456789012", "status": "COMPLETED",
                            "results": {"transcripts": [{"transcript": transcript}], "items": []}});
        put(&self.s3, &self.bucket, &format!("transcripts/{job}.json"), output.to_string().as_bytes()).await;
    }

    /// Transcribe's and S3's requests that name this scenario's bucket or
    /// job (moto's recorder; other tests' requests name others).
    async fn calls(&self, needle: &str) -> Vec<String> {
        let all = moto::calls_naming(&self.endpoint, needle).await;
        // The tests' own uploads are not the service's; the store's writes
        // name the voicemail too.
        all.into_iter().filter(|c| !c.starts_with("S3 PUT") && !c.starts_with("DynamoDB")).collect()
    }
}

/// `Transcribe Job State Change`, as EventBridge delivers it.
fn job_state(job: &str, status: &str) -> Value {
    let mut detail = json!({"TranscriptionJobName": job, "TranscriptionJobStatus": status});
    if status == "FAILED" {
        detail["FailureReason"] = json!("The media format provided does not match the detected media format.");
    }
    json!({"version": "0", "id": "1a2b3c4d-0000-1111-2222-333344445555", "detail-type": "Transcribe Job State Change",
           "source": "aws.transcribe", "account": "123456789012", "time": "2026-11-26T10:01:00Z",
           "region": "us-east-1", "resources": [], "detail": detail})
}

#[tokio::test]
async fn the_pbx_event_and_a_sidecar_bring_the_transcript_at_once() {
    for w in worlds(&config("VM from {caller_id}: {transcript}", aws_transcription(), 4)).await {
        let event = json!({"id": "e-1", "detail-type": "New Voicemail", "source": "pbx",
                           "detail": {"tenant": "59", "extension": "1001", "caller_id": "+14165550100",
                                      "message_id": w.bucket, "transcript": "Hi,\u{200b} call me\nback."}});
        assert_eq!(w.trigger(event).await["sent"], 1, "{}", w.b.name);
        // A sidecar beside the audio, in Transcribe's format.
        let output = json!({"results": {"transcripts": [{"transcript": "From the sidecar."}]}});
        put(&w.s3, &w.bucket, "voicemail/59/1001/msg.json", output.to_string().as_bytes()).await;
        assert_eq!(w.trigger(w.uploaded()).await["sent"], 1, "{}", w.b.name);
        // A .txt beside another audio wins over a .json.
        put(&w.s3, &w.bucket, "voicemail/59/1001/second.wav", b"RIFF").await;
        put(&w.s3, &w.bucket, "voicemail/59/1001/second.txt", b"  Plain text sidecar. ").await;
        put(&w.s3, &w.bucket, "voicemail/59/1001/second.json", output.to_string().as_bytes()).await;
        let mut second = s3_record("voicemail/59/1001/second.wav", "0B");
        second["s3"]["bucket"]["name"] = json!(w.bucket);
        assert_eq!(w.trigger(json!({"Records": [second]})).await["sent"], 1, "{}", w.b.name);
        assert_eq!(
            w.texts().await,
            [
                "VM from +14165550100: Hi, call me back.",
                "VM from unknown: From the sidecar.",
                "VM from unknown: Plain text sidecar."
            ],
            "{}",
            w.b.name
        );
        let transcribe: Vec<String> =
            w.calls(&w.bucket).await.into_iter().filter(|c| c.starts_with("Transcribe")).collect();
        assert!(transcribe.is_empty(), "{}: no job when a transcript is at hand: {transcribe:?}", w.b.name);
    }
}

#[tokio::test]
async fn a_transcribe_job_sends_once_on_its_completion() {
    for w in worlds(&config("VM: {transcript}", aws_transcription(), 4)).await {
        let first = w.trigger(w.uploaded()).await;
        assert_eq!(first, json!({"sent": 0, "skipped": 0, "duplicates": 0, "transcribing": 1}), "{}", w.b.name);
        let (entry, job) = w.entry().await;
        assert_eq!((entry.status, entry.attempts), (MessageStatus::Transcribing, 0), "{}", w.b.name);
        assert!(w.texts().await.is_empty());
        // The job, as Transcribe holds it: the audio, the output's place.
        let calls = w.calls(&job).await;
        assert_eq!(calls.iter().filter(|c| *c == "Transcribe.StartTranscriptionJob").count(), 1, "{calls:?}");
        // The other path's announcement and a redelivery: duplicates, no second job.
        for again in [w.object_created(), w.uploaded()] {
            assert_eq!(w.trigger(again).await["duplicates"], 1, "{}", w.b.name);
        }
        assert_eq!(w.calls(&job).await.len(), calls.len(), "{}: nothing more asked of Transcribe", w.b.name);

        w.at(30);
        w.transcribe_writes(&job, "Please call me back about the invoice.").await;
        assert_eq!(w.trigger(job_state(&job, "COMPLETED")).await["sent"], 1, "{}", w.b.name);
        assert_eq!(w.texts().await, ["VM: Please call me back about the invoice."], "{}", w.b.name);
        // The completion again, and the wait's end: nothing more.
        assert_eq!(w.trigger(job_state(&job, "COMPLETED")).await["duplicates"], 1, "{}", w.b.name);
        w.at(500);
        assert_eq!(w.scheduled().await, json!({"sent": 0, "skipped": 0, "duplicates": 0}), "{}", w.b.name);
        assert_eq!(w.texts().await.len(), 1, "{}", w.b.name);
        let (entry, _) = w.entry().await;
        assert_eq!((entry.status, entry.attempts), (MessageStatus::Sent, 1), "{}", w.b.name);
        // A job of another stack is none of ours.
        let other = w.trigger(job_state("other-stack-vm-1", "COMPLETED")).await;
        assert_eq!(other["skipped"], 1, "{}", w.b.name);
    }
}

#[tokio::test]
async fn a_failed_job_or_a_late_completion_never_holds_the_sms_back() {
    for w in worlds(&config("VM: {transcript}", aws_transcription(), 4)).await {
        w.trigger(w.uploaded()).await;
        let (_, job) = w.entry().await;
        assert_eq!(w.trigger(job_state(&job, "FAILED")).await["sent"], 1, "{}", w.b.name);
        assert_eq!(w.texts().await, [format!("VM: {NO_TRANSCRIPT}")], "{}", w.b.name);

        // Another voicemail whose completion never comes: due after the wait.
        let mut second = s3_record("voicemail/59/1001/late.wav", "0C");
        second["s3"]["bucket"]["name"] = json!(w.bucket);
        put(&w.s3, &w.bucket, "voicemail/59/1001/late.wav", b"RIFF").await;
        w.at(10);
        w.trigger(json!({"Records": [second]})).await;
        w.at(10 + 119);
        assert_eq!(w.scheduled().await["sent"], 0, "{}: not due yet", w.b.name);
        w.at(10 + 120);
        assert_eq!(w.scheduled().await["sent"], 1, "{}", w.b.name);
        assert_eq!(w.texts().await[1], format!("VM: {NO_TRANSCRIPT}"), "{}", w.b.name);
        assert_eq!(w.scheduled().await["sent"], 0, "{}", w.b.name);
    }
}

#[tokio::test]
async fn the_scheduled_sender_asks_the_job_when_its_event_is_lost() {
    for w in worlds(&config("VM: {transcript}", aws_transcription(), 4)).await {
        moto::complete_transcription_jobs_at_once(&w.endpoint).await;
        w.trigger(w.uploaded()).await;
        let (_, job) = w.entry().await;
        w.transcribe_writes(&job, "The event got lost.").await;
        w.at(200);
        assert_eq!(w.scheduled().await["sent"], 1, "{}", w.b.name);
        assert_eq!(w.texts().await, ["VM: The event got lost."], "{}", w.b.name);
        assert!(w.calls(&job).await.contains(&"Transcribe.GetTranscriptionJob".to_owned()));
    }
}

#[tokio::test]
async fn runs_killed_in_either_phase_finish_once() {
    for w in worlds(&config("VM: {transcript}", aws_transcription(), 4)).await {
        // The job completed (its event came): so Transcribe answers too.
        moto::complete_transcription_jobs_at_once(&w.endpoint).await;
        // The first phase dies holding the claim, the job started or not:
        // the redelivery after the lease starts none twice and parks it.
        w.dying.die_at(Step::AfterClaim);
        tokio::select! {
            r = trigger_by(&w.svc, w.uploaded(), w.deadline()) => panic!("{}: should have died: {r:?}", w.b.name),
            () = w.dying.died.notified() => {}
        }
        w.at(FUNCTION_TIMEOUT_SECS + LEASE_MARGIN_SECS);
        assert_eq!(w.trigger(w.uploaded()).await["transcribing"], 1, "{}", w.b.name);
        let (_, job) = w.entry().await;
        w.transcribe_writes(&job, "Killed twice.").await;

        // The second phase dies after taking the claim: its completion event
        // is retried inside the lease (in flight), then the scheduled sender
        // finishes it once the lease is over.
        w.dying.die_at(Step::AfterClaim);
        tokio::select! {
            r = trigger_by(&w.svc, job_state(&job, "COMPLETED"), w.deadline()) => panic!("{}: {r:?}", w.b.name),
            () = w.dying.died.notified() => {}
        }
        let retry = trigger_by(&w.svc, job_state(&job, "COMPLETED"), w.deadline()).await;
        assert!(retry.unwrap_err().contains("will be retried"), "{}", w.b.name);
        assert_eq!(w.scheduled().await["sent"], 0, "{}: within the lease", w.b.name);
        w.at(2 * (FUNCTION_TIMEOUT_SECS + LEASE_MARGIN_SECS));
        assert_eq!(w.scheduled().await["sent"], 1, "{}", w.b.name);
        assert_eq!(w.trigger(job_state(&job, "COMPLETED")).await["duplicates"], 1, "{}", w.b.name);
        assert_eq!(w.texts().await, ["VM: Killed twice."], "{}", w.b.name);
    }
}

#[tokio::test]
async fn a_park_left_unrecorded_fails_the_run_and_its_redelivery_parks() {
    for w in worlds(&config("VM: {transcript}", aws_transcription(), 4)).await {
        // The park's write fails, with no time left for another try (the
        // deadline a second away): nothing was sent, so the run fails.
        w.dying.stumble(&[Stumble::Before]);
        let failed = trigger_by(&w.svc, w.uploaded(), ((T0 + 1) * 1000) as u64).await;
        assert!(failed.unwrap_err().contains("will be retried"), "{}", w.b.name);
        // Redelivered after the lease: parked, its job's second start taken
        // as started, and sent once on its completion.
        w.at(1 + LEASE_MARGIN_SECS);
        assert_eq!(w.trigger(w.uploaded()).await["transcribing"], 1, "{}", w.b.name);
        let (_, job) = w.entry().await;
        let starts = w.calls(&job).await.into_iter().filter(|c| c == "Transcribe.StartTranscriptionJob").count();
        assert_eq!(starts, 2, "{}", w.b.name);
        w.transcribe_writes(&job, "Written at last.").await;
        assert_eq!(w.trigger(job_state(&job, "COMPLETED")).await["sent"], 1, "{}", w.b.name);
        assert_eq!(w.texts().await, ["VM: Written at last."], "{}", w.b.name);
    }
}

#[tokio::test]
async fn two_scheduled_runs_at_once_send_once() {
    for w in worlds(&config("VM: {transcript}", aws_transcription(), 4)).await {
        w.trigger(w.uploaded()).await;
        w.at(300);
        let (a, b) = tokio::join!(w.scheduled(), w.scheduled());
        assert_eq!(a["sent"].as_u64().unwrap() + b["sent"].as_u64().unwrap(), 1, "{}: {a} {b}", w.b.name);
        assert_eq!(w.texts().await.len(), 1, "{}", w.b.name);
    }
}

#[tokio::test]
async fn a_long_transcript_is_cut_to_the_tenants_segments() {
    let said = "please call me back about the order we placed last week ".repeat(12);
    for w in worlds(&config("VM from {caller_id}: {transcript}", aws_transcription(), 2)).await {
        let event = json!({"id": "e-1", "detail-type": "New Voicemail", "source": "pbx",
                           "detail": {"tenant": "59", "extension": "1001", "transcript": said}});
        w.trigger(event).await;
        let entries = w.entries().await;
        let text = &w.texts().await[0];
        assert!(text.starts_with("VM from unknown: please call") && text.ends_with("..."), "{text}");
        assert!(text.len() > 290 && text.len() <= 306, "{}: {text}", text.len());
        assert_eq!(entries[0].segments, 2, "{}", w.b.name);
        // In Cyrillic: UCS-2, cut to its smaller segments.
        let cyrillic = "перезвоните мне пожалуйста по поводу заказа ".repeat(10);
        let event = json!({"id": "e-2", "detail-type": "New Voicemail", "source": "pbx",
                           "detail": {"tenant": "59", "extension": "1001", "transcript": cyrillic}});
        w.trigger(event).await;
        let text = &w.texts().await[1];
        assert!(text.chars().count() <= 134 && text.ends_with("..."), "{}", text.chars().count());
        assert_eq!(w.entries().await[0].segments, 2, "{}", w.b.name);
    }
}

#[tokio::test]
async fn a_template_without_a_transcript_asks_for_none() {
    for w in worlds(&config("VM on {extension}", aws_transcription(), 4)).await {
        assert_eq!(w.trigger(w.uploaded()).await["sent"], 1, "{}", w.b.name);
        let calls = w.calls(&w.bucket).await;
        assert!(calls.is_empty(), "{}: no S3 read, no Transcribe job: {calls:?}", w.b.name);
    }
    // With {transcript} and no transcription set: the sidecars are looked
    // for, no job is started, the SMS goes at once.
    for w in worlds(&config("VM: {transcript}", Value::Null, 4)).await {
        assert_eq!(w.trigger(w.uploaded()).await["sent"], 1, "{}", w.b.name);
        assert_eq!(w.texts().await, [format!("VM: {NO_TRANSCRIPT}")]);
        let calls = w.calls(&w.bucket).await;
        assert_eq!(
            calls,
            [
                format!("S3 GET /{}/voicemail/59/1001/msg.txt", w.bucket),
                format!("S3 GET /{}/voicemail/59/1001/msg.json", w.bucket)
            ],
            "{}",
            w.b.name
        );
    }
}

/// What one voicemail costs on AWS (moto's recorder): without a transcript
/// as before; with a Transcribe job, its two phases.
#[tokio::test]
async fn requests_per_voicemail_with_and_without_a_transcript() {
    use std::collections::BTreeMap;
    let Some(m) = moto::connect().await else { return };
    let counts = |pairs: &[(&str, usize)]| -> BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&m.aws).force_path_style(true).build());
    let bucket = moto::unique_table_name();
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    put(&s3, &bucket, AUDIO, b"RIFF").await;
    let svc = Service::new(m.store.clone(), m.gateway.clone(), Policy::default(), shared::adapters::clock::system())
        .with_transcript_files(Arc::new(S3Voicemails::new(&m.aws)))
        .with_transcriber(Arc::new(Transcribe::new(&m.aws)));
    let apply = |config: String| {
        let store = m.store.clone();
        async move {
            let plan = shared::service::config::Config::from_json(&config).unwrap().plan(&[], 0);
            shared::ports::Admin::apply(&*store, &plan.snapshot, &plan.delete_keys).await.unwrap();
        }
    };
    let event = |sequencer: &str| {
        let mut r = s3_record(AUDIO, sequencer);
        r["s3"]["bucket"]["name"] = json!(bucket);
        json!({"Records": [r]})
    };
    let other =
        |calls: Vec<String>| -> Vec<String> { calls.into_iter().filter(|c| !c.starts_with("DynamoDB")).collect() };

    // A destination of its own: the other tests of this file send to TO
    // on the same moto at the same time.
    let to = "+14165557001";
    apply(config("VM on {extension}", aws_transcription(), 4).replace(TO, to)).await;
    m.mark().await;
    let before = moto::calls_naming(&m.endpoint, &bucket).await.len();
    assert_eq!(trigger_by(&svc, event("01"), 0).await.unwrap()["sent"], 1);
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("BatchGetItem", 1), ("TransactWriteItems", 2)]), "{r:?}");
    assert_eq!(r.sns, counts(&[("CheckIfPhoneNumberIsOptedOut", 1), ("Publish", 1)]), "{r:?}");
    let calls = other(moto::calls_naming(&m.endpoint, &bucket).await.split_off(before));
    assert!(calls.is_empty(), "no S3, no Transcribe: {calls:?}");

    // The first phase: the sidecars looked for, the job started, parked.
    apply(config("VM: {transcript}", aws_transcription(), 4).replace(TO, to)).await;
    m.mark().await;
    let before = moto::calls_naming(&m.endpoint, &bucket).await.len();
    assert_eq!(trigger_by(&svc, event("02"), 0).await.unwrap()["transcribing"], 1);
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("BatchGetItem", 1), ("TransactWriteItems", 2)]), "{r:?}");
    assert_eq!(r.sns_total(), 0, "{r:?}");
    let calls = other(moto::calls_naming(&m.endpoint, &bucket).await.split_off(before));
    let sidecar = |suffix: &str| format!("S3 GET /{bucket}/voicemail/59/1001/msg.{suffix}");
    assert_eq!(calls, [sidecar("txt"), sidecar("json"), "Transcribe.StartTranscriptionJob".to_owned()]);

    // The second phase: the wait read, the claim taken again, the
    // transcript read, the SMS, the end.
    let t = TenantId::parse("59").unwrap();
    let entry = shared::ports::Admin::messages(&*m.store, Some(&t), 10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.status == MessageStatus::Transcribing);
    let job = format!("sms-{}", entry.expect("the parked voicemail").id);
    let output = json!({"results": {"transcripts": [{"transcript": "Call me."}]}});
    put(&s3, &bucket, &format!("transcripts/{job}.json"), output.to_string().as_bytes()).await;
    m.mark().await;
    let before = moto::calls_naming(&m.endpoint, &bucket).await.len();
    assert_eq!(trigger_by(&svc, job_state(&job, "COMPLETED"), 0).await.unwrap()["sent"], 1);
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("GetItem", 1), ("BatchGetItem", 1), ("TransactWriteItems", 2)]), "{r:?}");
    assert_eq!(r.sns, counts(&[("CheckIfPhoneNumberIsOptedOut", 1), ("Publish", 1)]), "{r:?}");
    let calls = other(moto::calls_naming(&m.endpoint, &bucket).await.split_off(before));
    assert_eq!(calls, [format!("S3 GET /{bucket}/transcripts/{job}.json")]);
    // A scheduled run with nothing due: one query per shard of the index.
    m.mark().await;
    send_due(&svc, None).await.unwrap();
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("Query", 4)]), "{r:?}");
}
