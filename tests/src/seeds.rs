//! What the sample events name, stored as the product would have stored
//! it, and where the samples are.

use std::path::PathBuf;

use shared::ports::Store;

/// The SNS message id of events/cloudwatch-logs-sms-delivery.json's record.
pub const SAMPLE_RECEIPT_ID: &str = "34d9b400-c6dd-5444-820d-fbeb0f1f54cf";

/// A message of tenant 59 that SNS took under this id, as the store holds it
/// once sent: what a receipt then names.
pub async fn seed_sent(store: &dyn Store, provider_id: &str) -> shared::domain::MessageRecord {
    use shared::domain::{MessageKind, MessageRecord, MessageStatus, TenantId};
    let record = MessageRecord {
        id: format!("seeded-{provider_id}"),
        tenant: TenantId::parse("59").unwrap(),
        kind: MessageKind::Api,
        extension: None,
        from: "+14165550000".to_owned(),
        to: "+14165551234".to_owned(),
        status: MessageStatus::Sent,
        provider_id: Some(provider_id.to_owned()),
        segments: 1,
        error: None,
        at: 1_795_687_200,
        attempts: 1,
        receipt: None,
        lease_until: None,
        key: None,
        due: None,
        digest: None,
    };
    log_entry(store, &record).await;
    record
}

/// How long a seeded log entry is kept: the default log's 90 days.
pub const KEEP_LOG: i64 = 90 * 86_400;

/// Writes `record` into the log as it stands, claimless and budgetless (a
/// message whose work is over); panics unless the store started it.
pub async fn log_entry(store: &dyn Store, record: &shared::domain::MessageRecord) {
    let start =
        shared::ports::Start { record, claim: None, budget: None, now: record.at, log_keep_secs: KEEP_LOG, link: None };
    assert_eq!(store.begin(&start).await.expect("a log entry written"), shared::ports::Begun::Started);
}

/// The recording link of events/recording-link.json, and its object.
pub const SAMPLE_LINK_TOKEN: &str = "AQIDBAUGBwgJCgsMDQ4PEA";
pub const SAMPLE_RECORDING_KEY: &str = "voicemail/59/1001/msg0001.wav";

/// Stores the sample's recording link (as a voicemail's start would) and
/// writes its recording under `dir`, laid out like the bucket.
pub async fn seed_link(store: &dyn Store, dir: &std::path::Path) -> Vec<u8> {
    let link = shared::domain::RecordingLink {
        hash: shared::domain::KeyHash::of(SAMPLE_LINK_TOKEN),
        tenant: shared::domain::TenantId::parse("59").unwrap(),
        bucket: "pbx-voicemail".to_owned(),
        key: SAMPLE_RECORDING_KEY.to_owned(),
        expires_at: i64::MAX / 2,
    };
    let record = seed_sent(store, "for-the-link").await;
    let start = shared::ports::Start {
        record: &record,
        claim: None,
        budget: None,
        now: record.at,
        log_keep_secs: 86_400,
        link: Some(&link),
    };
    store.begin(&start).await.unwrap();
    let audio = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    let path = dir.join(SAMPLE_RECORDING_KEY);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, &audio).unwrap();
    audio
}

/// The configuration kept beside the sample events.
pub fn events_config() -> String {
    std::fs::read_to_string(repo_path("events/config.json")).unwrap()
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// The message id events/transcribe-job-*.json's job names (after the
/// stack's prefix, `sms-notifications-`).
pub const SAMPLE_JOB_PREFIX: &str = "sms-notifications-";
pub const SAMPLE_WAITING_ID: &str = "vm-0123456789abcdef0123456789abcdef";

/// A voicemail of tenant 59's extension 1001 waiting for its transcript
/// under `message_id`, due at `due`, as the trigger's first phase leaves it
/// (its claim taken, then finished as `transcribing`, the wait written).
pub async fn seed_waiting(store: &dyn Store, message_id: &str, now: i64, due: i64) {
    use shared::domain::{MessageKind, MessageRecord, MessageStatus};
    use shared::ports::{Begun, Claim, Closing, End, Finished, Start, WaitChange, Waiting};
    let voicemail = sample_voicemail(message_id);
    let claim_id = format!("vm#{}", voicemail.identity);
    let mut record = MessageRecord {
        id: message_id.to_owned(),
        tenant: voicemail.tenant.clone(),
        kind: MessageKind::Voicemail,
        extension: Some(voicemail.extension.clone()),
        from: String::new(),
        to: String::new(),
        status: MessageStatus::Sending,
        provider_id: None,
        segments: 0,
        error: None,
        at: now,
        attempts: 0,
        receipt: None,
        lease_until: Some(now + 60),
        key: None,
        due: None,
        digest: None,
    };
    let claim = Claim {
        id: &claim_id,
        fingerprint: &voicemail.identity,
        token: "seed",
        lease_until: now + 60,
        keep_secs: 86_400,
    };
    let start = Start { record: &record, claim: Some(claim), budget: None, now, log_keep_secs: KEEP_LOG, link: None };
    assert_eq!(store.begin(&start).await.expect("a claim taken"), Begun::Started);
    (record.status, record.lease_until) = (MessageStatus::Transcribing, None);
    let waiting = Waiting { message_id: message_id.to_owned(), claim: claim_id.clone(), voicemail, due, held: None };
    let closing = Closing { id: &claim_id, token: "seed", result: Some("transcribing"), keep_secs: 86_400 };
    let end = End {
        record: &record,
        claim: Some(closing),
        now,
        log_keep_secs: KEEP_LOG,
        token: "seed-end",
        wait: Some(WaitChange::Park(&waiting)),
        members: &[],
        // As the service parks: the start's attempt taken back.
        attempts: -1,
    };
    assert_eq!(store.finish(&end).await.expect("a wait written"), Finished::Done);
}

/// A voicemail of tenant 59's extension 1001, its audio named after `name`.
fn sample_voicemail(name: &str) -> shared::ports::Voicemail {
    use shared::domain::{Extension, TenantId, VoicemailDetails};
    let extension = Extension::parse("1001").unwrap();
    let key = format!("voicemail/59/1001/{name}.wav");
    shared::ports::Voicemail {
        identity: format!("s3://pbx-voicemail/{key}#0A"),
        tenant: TenantId::parse("59").unwrap(),
        details: VoicemailDetails::new(&extension),
        extension,
        object: Some(shared::ports::S3Object { bucket: "pbx-voicemail".to_owned(), key }),
    }
}
