//! Test support shared by the integration tests: backends to run against
//! (the embedded default, and DynamoDB + SNS on moto), a gateway wrapper that
//! records and injects failures, and builders for API Gateway requests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shared::adapters::outbox::OutboxGateway;
use shared::adapters::sqlite::SqliteStore;
use shared::config::Config;
use shared::domain::E164;
use shared::ports::{Admin, GatewayError, OutgoingSms, SmsGateway, Store};
use shared::service::{Policy, Service};

pub mod endpoint;
pub mod moto;
pub mod platform;
pub mod runtime_api;
pub mod tls;

/// One SMS as the gateway behind a backend received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub id: String,
    pub from: String,
    pub to: String,
    pub text: String,
}

/// Wraps a real gateway: records what it accepted, and can be told to fail.
pub struct TestGateway {
    inner: Arc<dyn SmsGateway>,
    accepted: Mutex<Vec<SentSms>>,
    /// Sends to fail before letting them through.
    fail_next: AtomicUsize,
    /// Fail every n-th send (0: never), for fault-injection runs.
    fail_every: AtomicUsize,
    /// Destinations whose sends fail.
    fail_to: Mutex<Vec<String>>,
    /// Sends the provider refuses (rather than cannot be reached).
    reject_next: AtomicUsize,
    /// Wait this long (ms) before each send: keeps a request in flight.
    slow_ms: AtomicUsize,
    /// The next send waits for this before it goes on.
    hold: Mutex<Option<Arc<tokio::sync::Notify>>>,
    attempts: AtomicUsize,
}

impl TestGateway {
    pub fn new(inner: Arc<dyn SmsGateway>) -> Self {
        TestGateway {
            inner,
            accepted: Mutex::new(Vec::new()),
            fail_next: AtomicUsize::new(0),
            fail_every: AtomicUsize::new(0),
            fail_to: Mutex::new(Vec::new()),
            reject_next: AtomicUsize::new(0),
            slow_ms: AtomicUsize::new(0),
            hold: Mutex::new(None),
            attempts: AtomicUsize::new(0),
        }
    }

    /// The next send waits until the returned gate is opened (`notify_one`).
    pub fn hold_next(&self) -> Arc<tokio::sync::Notify> {
        let gate = Arc::new(tokio::sync::Notify::new());
        *self.hold.lock().unwrap() = Some(gate.clone());
        gate
    }

    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn fail_every(&self, n: usize) {
        self.fail_every.store(n, Ordering::SeqCst);
    }

    pub fn reject_next(&self, n: usize) {
        self.reject_next.store(n, Ordering::SeqCst);
    }

    pub fn slow(&self, ms: usize) {
        self.slow_ms.store(ms, Ordering::SeqCst);
    }

    pub fn fail_to(&self, numbers: &[&str]) {
        *self.fail_to.lock().unwrap() = numbers.iter().map(|n| n.to_string()).collect();
    }

    pub fn accepted(&self) -> Vec<SentSms> {
        self.accepted.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SmsGateway for TestGateway {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, GatewayError> {
        let n = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        let gate = self.hold.lock().unwrap().take();
        if let Some(gate) = gate {
            gate.notified().await;
        }
        let every = self.fail_every.load(Ordering::SeqCst);
        let injected = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
            .is_ok()
            || (every > 0 && n.is_multiple_of(every))
            || self.fail_to.lock().unwrap().iter().any(|t| t == sms.to.as_str());
        if injected {
            return Err(GatewayError::Unavailable("injected failure".to_owned()));
        }
        if self.reject_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok() {
            return Err(GatewayError::Rejected("injected rejection".to_owned()));
        }
        let slow = self.slow_ms.load(Ordering::SeqCst);
        if slow > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(slow as u64)).await;
        }
        let id = self.inner.send(sms).await?;
        self.accepted.lock().unwrap().push(SentSms {
            id: id.clone(),
            from: sms.from.to_string(),
            to: sms.to.to_string(),
            text: sms.text.as_str().to_owned(),
        });
        Ok(id)
    }

    async fn opted_out(&self, to: &E164) -> Result<bool, GatewayError> {
        self.inner.opted_out(to).await
    }
}

/// Reads back, from the provider itself, the SMS a backend sent.
#[async_trait]
pub trait SentReader: Send + Sync {
    /// The SMS the provider holds with these ids.
    async fn read(&self, ids: &[String]) -> Vec<SentSms>;
}

/// A store, a gateway and the service over them.
pub struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    pub admin: Arc<dyn Admin>,
    pub gateway: Arc<TestGateway>,
    pub reader: Arc<dyn SentReader>,
    pub policy: Policy,
    /// The embedded outbox, to mark numbers opted out.
    pub outbox: Option<Arc<OutboxGateway>>,
    /// The embedded store's SQLite file.
    pub store_path: Option<PathBuf>,
}

impl Backend {
    pub fn service(&self) -> Service {
        Service::new(self.store.clone(), self.gateway.clone(), self.policy.clone())
    }

    /// The service with a clock the test moves.
    pub fn service_at(&self, clock: &Arc<std::sync::atomic::AtomicI64>) -> Service {
        let clock = clock.clone();
        self.service().with_clock(Arc::new(move || clock.load(Ordering::SeqCst)))
    }

    /// Makes `number` an opted-out destination at this backend's provider.
    /// Moto answers "opted out" for every number ending in 99.
    pub async fn opt_out(&self, number: &str) {
        match &self.outbox {
            Some(outbox) => outbox.set_opted_out(&E164::parse(number).unwrap(), true).await.unwrap(),
            None => assert!(number.ends_with("99"), "moto opts out only numbers ending in 99"),
        }
    }

    /// What the provider really holds of what was sent through this backend.
    pub async fn sent(&self) -> Vec<SentSms> {
        let ids: Vec<String> = self.gateway.accepted().into_iter().map(|s| s.id).collect();
        let sent = self.reader.read(&ids).await;
        assert_eq!(sent.len(), ids.len(), "{}: the provider does not hold every SMS accepted", self.name);
        sent
    }

    pub async fn apply(&self, config_json: &str) {
        let config = Config::from_json(config_json).expect("valid configuration");
        let plan = config.plan(&self.admin.keys().await.unwrap(), 0);
        self.admin.apply(&plan.snapshot, &plan.delete_keys).await.unwrap();
    }
}

struct OutboxReader(Arc<OutboxGateway>);

#[async_trait]
impl SentReader for OutboxReader {
    async fn read(&self, ids: &[String]) -> Vec<SentSms> {
        let all = self.0.list(usize::MAX).await.unwrap();
        ids.iter()
            .filter_map(|id| all.iter().find(|e| &e.id == id))
            .map(|e| SentSms {
                id: e.id.clone(),
                from: e.from.clone(),
                to: e.to.clone(),
                text: e.text.clone(),
            })
            .collect()
    }
}

/// A fresh file under the system's temp dir.
pub fn temp_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("sms-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{n}.db"));
    let _ = std::fs::remove_file(&path);
    path
}

/// The embedded default: SQLite store and outbox in one fresh file.
pub fn embedded() -> Backend {
    let path = temp_path("embedded");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let outbox = Arc::new(OutboxGateway::open(&path, false).unwrap());
    Backend {
        name: "embedded",
        store: store.clone(),
        admin: store,
        gateway: Arc::new(TestGateway::new(outbox.clone())),
        reader: Arc::new(OutboxReader(outbox.clone())),
        policy: Policy::default(),
        outbox: Some(outbox),
        store_path: Some(path),
    }
}

/// Every backend the tests run against: the embedded default, and DynamoDB
/// and SNS on moto when it is running (required under `CI=true`).
pub async fn backends() -> Vec<Backend> {
    let mut all = vec![embedded()];
    if let Some(aws) = moto::backend().await {
        all.push(aws);
    }
    all
}

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
    };
    let start = shared::ports::Start { record: &record, claim: None, budget: None, now: record.at, log_keep_secs: 90 * 86_400, link: None };
    store.begin(&start).await.unwrap();
    record
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
    let start = shared::ports::Start { record: &record, claim: None, budget: None, now: record.at, log_keep_secs: 86_400, link: Some(&link) };
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

/// An HTTP request as lambda_http hands it to a handler.
pub fn request(method: &str, path_and_query: &str, headers: &[(&str, &str)], body: &str) -> lambda_http::Request {
    let mut b = http::Request::builder().method(method).uri(path_and_query);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(lambda_http::Body::from(body.to_owned())).unwrap()
}

/// Status and JSON body of a handler's answer.
pub fn answer(resp: http::Response<lambda_http::Body>) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let body = serde_json::from_slice(resp.body()).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {:?}", resp.body()));
    (status, body)
}

/// Everything logged on this thread while the guard lives (tests run on
/// tokio's current-thread runtime, so that is everything the handler logs).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Writes into this thread's capture, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(logs) = c.borrow().as_ref() {
                logs.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stops capturing when dropped.
pub struct CaptureGuard;

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|c| c.borrow_mut().take());
    }
}

/// Captures this thread's logs. One global subscriber serves every test: a
/// per-test `set_default` races with other threads over tracing's cached
/// callsite interest and drops events now and then.
pub fn capture_logs() -> (Logs, CaptureGuard) {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadWriter)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in tests");
    });
    let logs = Logs::default();
    CAPTURE.with(|c| *c.borrow_mut() = Some(logs.clone()));
    (logs, CaptureGuard)
}

/// Runs a sample event file through its real handler.
pub async fn invoke_event(b: &Backend, file: &str) -> (u16, serde_json::Value) {
    let text = std::fs::read_to_string(repo_path(&format!("events/{file}"))).unwrap();
    let service = b.service();
    if file.starts_with("action-api") || file.starts_with("rest-") {
        let req = lambda_http::request::from_str(&text).unwrap();
        let resp = if file.starts_with("rest-voicemail") {
            voicemail_notify::handler::handle(&service, req).await
        } else {
            send_sms::handler::handle(&service, req).await
        };
        answer(resp.unwrap())
    } else if file.starts_with("cloudwatch-logs") {
        let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
        let event = lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default());
        (200, delivery_status::handler::handle(&service, event).await.unwrap())
    } else {
        let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
        let event = lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default());
        let layout = shared::trigger::KeyLayout::default();
        match voicemail_trigger::handler::handle(&service, &layout, event).await {
            Ok(v) => (200, v),
            Err(e) => (500, serde_json::json!({ "error": e.to_string() })),
        }
    }
}

/// An S3 `ObjectCreated:Put` notification record for this (raw, encoded)
/// key, shaped as S3 sends it.
pub fn s3_record(raw_key: &str, sequencer: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-26T10:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.20"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQ"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "voicemail-created",
               "bucket": {"name": "pbx-voicemail", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": "arn:aws:s3:::pbx-voicemail"},
               "object": {"key": raw_key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": sequencer}}
    })
}

/// S3 notifications wrapped in an SQS batch, one message each, ids `m0`, `m1`...
pub fn sqs_batch(records: &[serde_json::Value]) -> serde_json::Value {
    let messages: Vec<serde_json::Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| serde_json::json!({
            "messageId": format!("m{i}"),
            "body": serde_json::json!({ "Records": [r] }).to_string(),
            "eventSource": "aws:sqs",
        }))
        .collect();
    serde_json::json!({ "Records": messages })
}

/// Runs one event through the voicemail-trigger handler.
pub async fn trigger(service: &Service, event: serde_json::Value) -> Result<serde_json::Value, String> {
    trigger_by(service, event, 0).await
}

/// Runs one event through the voicemail-trigger handler, as an invocation
/// with this deadline (epoch milliseconds; 0: none, as a local invocation).
pub async fn trigger_by(service: &Service, event: serde_json::Value, deadline_ms: u64) -> Result<serde_json::Value, String> {
    let mut context = lambda_runtime::Context::default();
    context.deadline = deadline_ms;
    let event = lambda_runtime::LambdaEvent::new(event, context);
    voicemail_trigger::handler::handle(service, &shared::trigger::KeyLayout::default(), event)
        .await
        .map_err(|e| e.to_string())
}
