//! What the benchmark runs the functions against: the sample configuration
//! (events/config.json) on the embedded store and on moto, seeded for the
//! receipt and the recording link of events/, and one event per function.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use integration_tests::binaries::Lambda;
use integration_tests::moto::{self, Moto};
use integration_tests::runtime_api::Outcome;
use integration_tests::{SAMPLE_RECEIPT_ID, events_config, repo_path, seed_link, seed_sent};
use serde_json::{Value, json};
use shared::adapters::sqlite::SqliteStore;
use shared::ports::{Admin, Store};
use shared::service::config::Config;

/// The hello-world binary (src/bin/hello.rs).
pub const HELLO: &str = "hello";

/// Where a function instance keeps its data and sends its SMS.
#[derive(Debug, Clone)]
pub enum Setting {
    /// SQLite and the local outbox (the `embedded` feature).
    Embedded,
    /// DynamoDB and SNS at `endpoint` (moto), the table `table`; `ca_file`
    /// becomes `AWS_CA_BUNDLE` (a TLS endpoint's test CA).
    Dynamo { endpoint: String, table: String, prewarm: bool, ca_file: Option<PathBuf> },
}

impl Setting {
    /// On this moto table, connections opened in init or not.
    pub fn on(moto: &Moto, prewarm: bool) -> Setting {
        Setting::Dynamo { endpoint: moto.endpoint.clone(), table: moto.table.clone(), prewarm, ca_file: None }
    }
}

/// The built binaries and the embedded store they share.
pub struct Fixture {
    bins: PathBuf,
    db: PathBuf,
    recordings: PathBuf,
}

impl Fixture {
    /// Binaries in `bins`; a fresh embedded store holding `config`.
    pub async fn new(bins: &Path, config: &str) -> Fixture {
        let db = integration_tests::temp_path("bench");
        let store = SqliteStore::open(&db).expect("open the embedded store");
        let recordings = db.with_extension("recordings");
        prepare(&store, config, &recordings).await;
        Fixture { bins: bins.to_owned(), db, recordings }
    }

    pub fn binary(&self, name: &str) -> PathBuf {
        let path = self.bins.join(name);
        assert!(path.is_file(), "{} is not built: run bash scripts/bench.sh", path.display());
        path
    }

    /// Starts `function` as Lambda would, on `setting`.
    pub fn spawn(&self, function: &str, setting: &Setting) -> Lambda {
        let dir = self.recordings.to_string_lossy().into_owned();
        let mut env = vec![("SMS_RECORDINGS_DIR".to_owned(), dir)];
        if let Setting::Dynamo { endpoint, table, prewarm, ca_file } = setting {
            env.extend([
                ("SMS_TABLE_NAME".to_owned(), table.clone()),
                ("AWS_ENDPOINT_URL".to_owned(), endpoint.clone()),
                ("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()),
                ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing".to_owned()),
                ("AWS_PREWARM".to_owned(), prewarm.to_string()),
            ]);
            if let Some(ca) = ca_file {
                env.push(("AWS_CA_BUNDLE".to_owned(), ca.to_string_lossy().into_owned()));
            }
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Lambda::spawn(&self.binary(function), function, &self.db, &env)
    }
}

/// A fresh moto table holding `config`, seeded like the embedded store.
pub async fn moto_table(config: &str) -> Moto {
    let m = moto::connect().await.expect("MOTO_ENDPOINT is not set: run bash scripts/bench.sh");
    let recordings = integration_tests::temp_path("bench-unused").with_extension("recordings");
    prepare(m.store.as_ref(), config, &recordings).await;
    m
}

/// Applies `config` as `smsctl apply` does, then stores the message that
/// events/'s delivery receipt names and the recording link of
/// events/recording-link.json (its audio written under `recordings`).
async fn prepare<S: Store + Admin>(store: &S, config: &str, recordings: &Path) {
    let config = Config::from_json(config).expect("a valid configuration");
    let plan = config.plan(&store.keys().await.expect("keys"), 0);
    store.apply(&plan.snapshot, &plan.delete_keys).await.expect("apply");
    seed_sent(store, SAMPLE_RECEIPT_ID).await;
    seed_link(store, recordings).await;
}

/// events/config.json with limits no benchmark reaches: thousands of sends
/// a minute are measured as sends, not as refusals.
pub fn unlimited_config() -> String {
    let mut config: Value = serde_json::from_str(&events_config()).expect("events/config.json is JSON");
    let limits = json!({"per_minute": 1_000_000, "per_day": 100_000_000});
    config["tenants"][0]["rate_limits"] = limits.clone();
    config["tenants"][0]["voicemail_rate_limits"] = limits;
    config.to_string()
}

/// The sample event each function is invoked with: an SMS sent for the
/// senders, a new voicemail each time for the trigger (another key), the
/// sample receipt, the sample recording link, the console's sign-in page.
pub fn event(function: &str) -> Vec<u8> {
    let file = match function {
        "console" => return console_event(),
        HELLO | "send-sms" => "action-api-get.json",
        "voicemail-notify" => "rest-voicemail.json",
        "delivery-status" => "cloudwatch-logs-sms-delivery.json",
        "recording-link" => "recording-link.json",
        // Nothing due: what nearly every minute's run does.
        "scheduled-sender" => "schedule.json",
        "voicemail-trigger" => return new_voicemail(),
        other => panic!("no event for {other}"),
    };
    std::fs::read(repo_path(&format!("events/{file}"))).expect("a sample event")
}

/// `GET /console/sign-in` as the HTTP API hands it to the console: the
/// sample recording link's request on the console's route. The page reads
/// nothing from the store (the signed-in pages are measured on the local
/// server, bench/src/console.rs).
fn console_event() -> Vec<u8> {
    let path = repo_path("events/recording-link.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).expect("a sample event")).expect("JSON");
    event["routeKey"] = json!("ANY /console/{proxy+}");
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event["rawPath"] = json!("/console/sign-in");
    event["requestContext"]["http"]["path"] = event["rawPath"].clone();
    event["pathParameters"] = json!({"proxy": "sign-in"});
    event.to_string().into_bytes()
}

/// An S3 notification of a voicemail no run has seen.
pub fn new_voicemail() -> Vec<u8> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let key = format!("voicemail/59/1001/bench-{}-{n}.wav", std::process::id());
    json!({"Records": [integration_tests::s3_record(&key, &format!("{n:018X}"))]}).to_string().into_bytes()
}

/// Whether `function` did its work: an SMS sent (or a link or report
/// answered), a receipt applied (or recognised as repeated), a scheduled
/// run done.
pub fn check(function: &str, outcome: &Outcome) -> Result<(), String> {
    let Outcome::Response { body, .. } = outcome else {
        return Err(format!("{function}: {}", outcome.describe()));
    };
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("{function}: not JSON ({e})"))?;
    let done = match function {
        "voicemail-trigger" => v["sent"] == 1,
        // A scheduled run with nothing due: it read what is due and answered.
        "scheduled-sender" => v["sent"].is_u64(),
        "delivery-status" => v["applied"].as_u64().unwrap_or(0) + v["repeated"].as_u64().unwrap_or(0) == 1,
        _ => matches!(v["statusCode"].as_u64(), Some(200 | 302)),
    };
    if done { Ok(()) } else { Err(format!("{function}: {v}")) }
}

/// Invokes and checks; a failed invocation stops the benchmark (its figures
/// would measure errors).
pub fn invoke(lambda: &mut Lambda, event: &[u8]) -> Outcome {
    let outcome = lambda.invoke(event);
    if let Err(why) = check(&lambda.name, &outcome) {
        panic!("{why}\n{}", lambda.output());
    }
    outcome
}
